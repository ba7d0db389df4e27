"""The sandbox's fallback levels, reached for real: a grader without CAP_SYS_ADMIN.

In a container started with Docker's default capabilities (as Gradescope runs autograders) the
grader is root but cannot create namespaces.  These tests run ``bpverify grade`` under
``capsh --drop=cap_sys_admin`` (libcap2-bin; .ci/run installs it), so the worker really falls
back to Landlock, seccomp and rlimits, with whatever cgroups the machine lets it write, and check
that a fork flood costs only its own item and that no process of the grade survives it.  The
level with no cgroup at all (seccomp's "no fork") is planned as if none were writable.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bpverify.grading.engine import check_submission
from bpverify.model import SubmissionResult
from bpverify.submission import sandbox
from bpverify.submission.worker import WorkerExecutor
from tests.test_lifetime import _kill_all, _left_after

HOSTILE = Path(__file__).resolve().parent / "hostile"
CAPSH = shutil.which("capsh")
needs_capsh = pytest.mark.skipif(
    CAPSH is None or sys.platform != "linux" or os.geteuid() != 0,
    reason="needs root and capsh (apt-get install libcap2-bin) to drop CAP_SYS_ADMIN")


def _grade_without_cap_sys_admin(sub: Path, out: Path, *args: str) -> SubmissionResult:
    command = [sys.executable, "-m", "bpverify", "grade", str(sub), "--examples", "3",
               "--memory", "600", "--json", str(out), *args]
    run = subprocess.run(
        [str(CAPSH), "--drop=cap_sys_admin", "--", "-c", " ".join(map(_quote, command))],
        capture_output=True, text=True, timeout=300, cwd=out.parent,
        env={**os.environ, "BPVERIFY_PROFILE": "ci"})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return SubmissionResult.from_dict(json.loads(out.read_text()))


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _flood_and_linger(folder: Path) -> Path:
    """flood.py's AddGate (a fork flood, otherwise right) with linger.py's ways to outlive the
    grade, in one submission: one grade covers both (each grade starts an interpreter)."""
    import re

    flood = (HOSTILE / "flood.py").read_text()
    linger = (HOSTILE / "linger.py").read_text()
    linger = re.sub(r"class AddGate:.*?(?=\nclass )", "", linger, flags=re.S)
    flood = re.sub(r"class MultiplyGate:.*", "", flood, flags=re.S)
    sub = folder / "student" / "flood_linger.py"
    sub.parent.mkdir(parents=True)
    sub.write_text(flood + "\n" + linger)
    return sub


@needs_capsh
def test_without_cap_sys_admin_floods_are_capped_and_nothing_outlives_the_grade(
        open_dir: Path, tmp_path: Path) -> None:
    """AddGate starts 150 sleeping children per call: the cap stops the flood at once, so the
    item returns the right answers in time (uncapped, it ran out of its budget: the issue saw
    60 s).  MultiplyGate, ReciprocalGate and ExpGate try to outlive the grade (tests/hostile/
    linger.py); with no PID namespace to end them, the worker is a subreaper and the grader
    kills its tree after each item and when it ends (and its cgroup, where one is writable)."""
    sub = _flood_and_linger(open_dir)
    items = ("AddGate", "MultiplyGate", "ReciprocalGate", "ExpGate")
    try:
        result = _grade_without_cap_sys_admin(sub, tmp_path / "r.json", "--timeout", "2",
                                              *[a for i in items for a in ("--only", i)])
        left = _left_after(str(sub))
    finally:
        _kill_all(str(sub))
    assert "pid namespace" not in result.sandbox, result.sandbox
    assert "64 processes" in result.sandbox or "no fork" in result.sandbox, result.sandbox
    assert result.item("AddGate").passed, result.item("AddGate")
    for item in items[1:]:
        assert "timed out" in result.item(item).checks[0].message, result.item(item)
    assert left == []


@pytest.mark.skipif(sys.platform != "linux", reason="seccomp and /proc are Linux's")
def test_with_no_namespace_and_no_cgroup_floods_are_capped_and_nothing_outlives_the_grade(
        monkeypatch: pytest.MonkeyPatch, open_dir: Path) -> None:
    """Planned as if no namespace and no cgroup were available (Docker's default capabilities,
    /sys/fs/cgroup read-only).  A dropped uid is capped by RLIMIT_NPROC, and then only the
    worker being a subreaper and the grader's walk of its tree end the daemons; a worker that
    stays root gets seccomp's "no fork" instead (RLIMIT_NPROC does not bind root).  .ci/run
    runs this under both interpreters, so both branches run."""
    support = sandbox.detect()
    monkeypatch.setattr(sandbox, "detect", lambda: replace(
        support, namespaces=False, cgroup_pids="", cgroup2="", cgroup2_pids=False,
        why_not=("pretend: no namespaces, no cgroups",)))
    sub = _flood_and_linger(open_dir)
    plan = sandbox.plan("auto", sub)
    factory = functools.partial(WorkerExecutor, timeout=2, memory_mb=600)
    try:
        result = check_submission(sub, max_examples=3, executor_factory=factory,
                                  only=["AddGate", "MultiplyGate", "ReciprocalGate", "ExpGate"])
        left = _left_after(str(sub))
    finally:
        _kill_all(str(sub))
    assert result.item("AddGate").passed, result.item("AddGate")
    assert left == []
    if plan.uid >= 0:
        assert "64 processes" in result.sandbox and "no fork" not in result.sandbox
    else:
        assert plan.no_fork and "seccomp + no fork" in result.sandbox, result.sandbox
        assert any("no cgroup to cap" in m for m in plan.not_defended)


#: Runs a program with unshare(2) refused (seccomp, inherited across exec), as Docker's default
#: profile and Ubuntu's AppArmor restriction refuse unprivileged namespaces.
NO_UNSHARE = r"""
import ctypes, os, sys
code = [(0x20, 0, 0, 4), (0x15, 0, 3, 0xC000003E), (0x20, 0, 0, 0), (0x15, 0, 1, 272),
        (0x06, 0, 0, 0x00050000 | 1), (0x06, 0, 0, 0x7FFF0000)]
class F(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]
class P(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(F))]
prog = P(len(code), (F * len(code))(*[F(*c) for c in code]))
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0 and libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0
os.execv(sys.argv[1], sys.argv[1:])
"""


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64"
                    or os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root (to become another user), setpriv and x86_64")
def test_a_user_without_namespaces_gets_no_fork_and_keeps_the_grade(
        open_dir: Path) -> None:
    """The non-root laptop without user namespaces, for real: the grade runs as an unprivileged
    user with unshare(2) refused by the kernel, so the worker has Landlock and seccomp but
    neither namespaces nor a cgroup it may write: "no fork" caps it, the flood item passes."""
    sub = _flood_and_linger(open_dir)
    uid = sandbox.plan("auto", sub).uid
    if uid < 0:
        pytest.skip("this interpreter is not readable by an unprivileged user (.ci/run runs "
                    "this file again with /usr/bin/python3 in a venv under /tmp)")
    home = open_dir / "home"
    home.mkdir()
    home.chmod(0o777)
    out = home / "r.json"
    command = [sys.executable, "-c", NO_UNSHARE, sys.executable, "-m", "bpverify", "grade",
               str(sub), "--examples", "3", "--memory", "600", "--timeout", "2",
               "--only", "AddGate", "--only", "MultiplyGate", "--json", str(out)]
    try:
        run = subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command],
            capture_output=True, text=True, timeout=300, cwd=home,
            env={**os.environ, "BPVERIFY_PROFILE": "ci", "HOME": str(home)})
        left = _left_after(str(sub))
    finally:
        _kill_all(str(sub))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    result = SubmissionResult.from_dict(json.loads(out.read_text()))
    assert "pid namespace" not in result.sandbox and "uid" not in result.sandbox
    assert "seccomp + no fork" in result.sandbox or "64 processes" in result.sandbox, \
        result.sandbox
    assert result.item("AddGate").passed, result.item("AddGate")
    assert "timed out" in result.item("MultiplyGate").checks[0].message
    assert left == []
