"""No process of a grade outlives it, and the standard library imports inside the sandbox.

Both depend on the interpreter that runs the worker: with a Python the unprivileged user can
read (Debian's /usr/bin/python3 in a venv outside /root, as on Gradescope) the worker drops its
uid, which changes what it may read and what binds it to its parent.  .ci/run runs this file
under both interpreters (issue 18).  tests/hostile/linger.py tries every way out we know.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bpverify.cli import main
from bpverify.model import SubmissionResult
from bpverify.submission import sandbox

REPO = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile"
FAST = ["--examples", "3", "--timeout", "1", "--memory", "600"]
SUPPORT = sandbox.detect()
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError):
                cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
                if text in cmd:
                    found.append(f"{entry.name} (uid {entry.stat().st_uid}): {cmd[:100]!r}")
    return found


def _left_after(text: str, seconds: float = 3.0) -> list[str]:
    """Processes still mentioning ``text`` once they had ``seconds`` to die."""
    end = time.monotonic() + seconds
    while (left := _processes_mentioning(text)) and time.monotonic() < end:
        time.sleep(0.05)
    return left


def _kill_all(text: str) -> None:
    """After a failing check: do not leave the processes to the next tests."""
    for line in _processes_mentioning(text):
        with contextlib.suppress(OSError):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def _linger(folder: Path) -> Path:
    sub = folder / "student" / "linger.py"
    sub.parent.mkdir(parents=True)
    sub.write_text((HOSTILE / "linger.py").read_text())
    return sub


@linux_only
def test_no_process_of_the_grade_survives_it(open_dir: Path, tmp_path: Path) -> None:
    """A worker that unbinds itself from its parent, a setsid() daemon whose parent exited, and
    children that ignore signals: all of them end with their item, under either interpreter."""
    sub = _linger(open_dir)
    items = ("AddGate", "MultiplyGate", "ReciprocalGate", "ExpGate")
    try:
        rc = main(["grade", str(sub), *FAST, *[a for i in items for a in ("--only", i)],
                   "--json", str(tmp_path / "r.json")])
        left = _left_after(str(sub))
    finally:
        _kill_all(str(sub))
    assert rc == 0
    result = SubmissionResult.from_dict(json.loads((tmp_path / "r.json").read_text()))
    assert result.item("AddGate").passed
    for item in items[1:]:
        assert "timed out" in result.item(item).checks[0].message, result.item(item)
    assert left == []


@linux_only
def test_no_worker_outlives_a_killed_grader(open_dir: Path, tmp_path: Path) -> None:
    """The grader is killed (SIGKILL: no clean-up) while its worker spins in a submission that
    tries to clear its own parent-death signal: the worker still dies, uid dropped or not."""
    sub = _linger(open_dir)
    namespaces = sandbox.plan("auto", sub).namespaces
    grader = subprocess.Popen(
        [sys.executable, "-m", "bpverify", "grade", str(sub), "--only", "MultiplyGate",
         "--timeout", "60", "--examples", "3"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
        env={**os.environ, "BPVERIFY_PROFILE": "ci"})
    try:
        end = time.monotonic() + 30
        while len(_processes_mentioning(str(sub))) < 1 + namespaces \
                and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(1.0)  # into MultiplyGate.forward: the submission has run its prctl
        assert _processes_mentioning(str(sub)), "the worker never started"
        grader.kill()
        grader.wait()
        left = _left_after(str(sub))
    finally:
        _kill_all(str(sub))
        grader.kill()
    assert left == []


#: Modules of the standard library a learner might import, pure Python and C extensions alike
#: (decimal's _decimal, hashlib's _hashlib/_sha2, csv's _csv, gzip's zlib, ... live in
#: lib-dynload wherever the interpreter keeps it).
STDLIB = ("logging", "heapq", "string", "decimal", "fractions", "statistics", "pprint",
          "hashlib", "csv", "gzip", "json", "math", "random", "itertools", "functools",
          "collections", "re", "copy", "time", "datetime", "typing", "dataclasses", "bisect",
          "operator", "array", "struct", "enum", "abc", "numbers", "textwrap", "warnings",
          "contextlib", "io", "pickle", "zlib", "bz2", "lzma", "base64", "binascii", "uuid",
          "cmath", "traceback", "inspect", "types", "weakref", "queue", "threading", "timeit",
          "unittest", "doctest", "argparse", "difflib", "shlex", "tempfile", "zipfile",
          "tarfile", "calendar", "locale", "unicodedata", "codecs", "secrets", "hmac",
          "sqlite3", "xml.etree.ElementTree", "html", "urllib.parse", "concurrent.futures",
          "collections.abc", "graphlib", "zoneinfo", "ast", "tokenize", "select", "mmap",
          "numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial")

STDLIB_GATE = f"""
import importlib, os

MODULES = {STDLIB!r}
failed = []
for name in MODULES:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{{name}}: {{type(exc).__name__}}: {{exc}}")
if failed:
    raise ImportError("; ".join(failed))


class AddGate:
    def forward(self, x, y):
        for path in GRADER_FILES:
            try:
                with open(path, "rb") as f:
                    f.read(1)
            except OSError:
                continue
            raise RuntimeError(f"read {{path}} from inside the sandbox")
        if os.getuid() != EXPECTED_UID:
            raise RuntimeError(f"uid {{os.getuid()}}, expected {{EXPECTED_UID}}")
        return x + y

    def backward(self, dz):
        return dz, dz
"""


@pytest.mark.skipif(SUPPORT.landlock_abi < 1, reason="the kernel has no Landlock")
def test_the_standard_library_imports_inside_the_sandbox(open_dir: Path, tmp_path: Path) -> None:
    """Every module above imports with Landlock on (and the uid dropped, where the interpreter
    lets the worker drop it), while the grader's own files stay unreadable."""
    sub = open_dir / "student" / "uses_stdlib.py"
    sub.parent.mkdir()
    sub.write_text("")
    plan = sandbox.plan("auto", sub)
    grader_files = [str(REPO / "reference" / "gates.py"), str(REPO / "pyproject.toml"),
                    sandbox.__file__]
    uid = plan.uid if plan.uid >= 0 else os.getuid()
    sub.write_text(f"GRADER_FILES = {grader_files!r}\nEXPECTED_UID = {uid}\n" + STDLIB_GATE)
    rc = main(["grade", str(sub), *FAST, "--only", "AddGate", "--json", str(tmp_path / "r.json")])
    result = SubmissionResult.from_dict(json.loads((tmp_path / "r.json").read_text()))
    assert result.load_error == "", result.load_error
    assert rc == 0 and result.item("AddGate").passed, result.item("AddGate")
    assert "landlock" in result.sandbox
    if plan.uid >= 0:
        assert f"uid {plan.uid}" in result.sandbox


@linux_only
def test_worker_cgroups_left_by_a_killed_grader_are_removed() -> None:
    """A grader killed with SIGKILL cannot remove its workers' cgroups; the next one removes
    those that are empty and more than a minute old (and leaves a fresh one alone)."""
    support = sandbox.detect()
    parents = [p for p in (support.cgroup_pids, support.cgroup2) if p]
    if not parents:
        pytest.skip("no writable cgroup on this machine")
    stale = [Path(p, f"bpverify-worker-{900_000_000 + i}") for i, p in enumerate(parents)]
    fresh = Path(parents[0], "bpverify-worker-900000099")
    try:
        for group in [*stale, fresh]:
            group.mkdir()
        for group in stale:
            os.utime(group, (time.time() - 3600,) * 2)
        sandbox.detect.cache_clear()
        sandbox.detect()
        assert [g for g in stale if g.exists()] == []
        assert fresh.exists()
    finally:
        for group in [*stale, fresh]:
            with contextlib.suppress(OSError):
                group.rmdir()
