"""The worker's sandbox: a hostile submission gets nothing it is not given, and costs nothing else.

One submission (the reference's gates and layers with tests/hostile/escape.py's attacks on top)
is graded once through ``bpverify grade`` with the default sandbox; each test checks one attack
from outside: no file read or written, no connection, no process left, no signal to the grader,
no autodiff, the untouched items keep their marks and every results file is written.  Fallback
levels are exercised by planning as if the machine lacked a mechanism.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpverify.cli import main
from bpverify.grading.engine import check_submission
from bpverify.model import SubmissionResult
from bpverify.submission import sandbox
from bpverify.submission.worker import WorkerExecutor

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference"
ESCAPE = Path(__file__).resolve().parent / "hostile" / "escape.py"
DAEMONS = ESCAPE.with_name("daemons.py")
FAST = ["--examples", "3", "--timeout", "3", "--memory", "600"]
CLEAN = ("AddGate", "relu_forward")
ATTACKED = ("MultiplyGate", "MaxGate", "ExpGate", "ReciprocalGate", "AddConstGate", "ScaleGate",
            "SigmoidGate", "SigmoidNeuron", "affine_forward", "relu_backward")
SECRET = "grader-secret-7f3a"

SUPPORT = sandbox.detect()
FULL = SUPPORT.landlock_abi >= 6 and SUPPORT.namespaces
needs_full = pytest.mark.skipif(
    not FULL, reason=f"needs Landlock ABI 6+ and namespaces; this machine: {SUPPORT}")


def _only(*items: str) -> list[str]:
    return [a for item in items for a in ("--only", item)]


def _reference_source() -> str:
    lines = []
    for name in ("gates.py", "layers.py"):
        lines += [line for line in (REFERENCE / name).read_text().splitlines()
                  if not line.startswith("from __future__")]
    return "\n".join(lines) + "\n"


class _Listener:
    """Servers the submission tries to reach; they record whatever arrives."""

    def __init__(self, tmp: Path) -> None:
        self.got: list[str] = []
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = str(tmp / "grader.sock")
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.unix_path)
        self.unix.listen()
        self.abstract_name = f"bpverify-test-{os.getpid()}-{id(self)}"
        self.abstract = socket.socket(socket.AF_UNIX)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen()
        self.stop = False
        self.threads = [threading.Thread(target=self._serve, args=(s,), daemon=True)
                        for s in (self.tcp, self.unix, self.abstract)]
        self.threads.append(threading.Thread(target=self._datagrams, daemon=True))
        for t in self.threads:
            t.start()

    def _serve(self, server: socket.socket) -> None:
        server.settimeout(0.2)
        while not self.stop:
            with contextlib.suppress(TimeoutError, OSError):
                conn, _ = server.accept()
                self.got.append(f"connection on {server.getsockname()!r}")
                conn.close()

    def _datagrams(self) -> None:
        self.udp.settimeout(0.2)
        while not self.stop:
            with contextlib.suppress(TimeoutError, OSError):
                self.got.append(f"datagram {self.udp.recv(100)!r}")

    def close(self) -> None:
        self.stop = True
        for t in self.threads:
            t.join()
        for s in (self.tcp, self.udp, self.unix, self.abstract):
            s.close()


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmd = (entry / "cmdline").read_bytes().decode(errors="replace")
                if text in cmd:
                    found.append(f"{entry.name}: {cmd[:120]!r}")
    return found


@pytest.fixture(scope="module")
def attacked() -> Iterator[dict]:
    if not FULL:
        pytest.skip(f"needs Landlock ABI 6+ and namespaces; this machine: {SUPPORT}")
    # A folder every user may enter (pytest's are 0700), so that where the interpreter allows
    # it (the system python3 in a venv outside /root, as .ci/run runs this file) the worker
    # drops its uid, as on Gradescope: the attacks then run as that uid too.
    tmp = Path(tempfile.mkdtemp(prefix="bpverify-sandbox-"))
    tmp.chmod(0o755)
    (tmp / "secret.txt").write_text(SECRET)
    other = tmp / "other"
    other.mkdir()
    (other / "solution.py").write_text(f"# {SECRET} another student's code\n")
    (other / "results.json").write_text('{"score": 12}')
    pycache = REPO / "bpverify" / "submission" / "__pycache__"
    pycache.mkdir(exist_ok=True)
    listener = _Listener(tmp)
    config = {
        "repo": str(REPO), "secret": str(tmp / "secret.txt"),
        "other_student": str(other / "solution.py"), "other_results": str(other / "results.json"),
        "reference_file": str(REFERENCE / "gates.py"), "grader_pid": os.getpid(),
        "pycache_file": str(pycache / f"escaped-{os.getpid()}.pyc"),
        "outside_file": str(tmp / "outside.txt"), "tcp_port": listener.tcp.getsockname()[1],
        "udp_port": listener.udp.getsockname()[1], "unix_path": listener.unix_path,
        "abstract_name": listener.abstract_name, "daemon_file": str(tmp / "daemon.txt"),
        "daemon_delay": 1.0,
    }
    sub = tmp / "student" / "escape.py"
    sub.parent.mkdir()
    sub.write_text(_reference_source() + f"\nCONFIG = {config!r}\n" + ESCAPE.read_text())
    os.environ["BPVERIFY_TEST_SECRET"] = SECRET  # in the grader's /proc/<pid>/environ
    out = {"json": tmp / "r.json", "gradescope": tmp / "gs.json", "junit": tmp / "j.xml"}
    start = time.perf_counter()
    try:
        rc = main(["grade", str(sub), *FAST, *_only(*CLEAN, *ATTACKED),
                   *[a for fmt, path in out.items() for a in (f"--{fmt}", str(path))]])
    finally:
        os.environ.pop("BPVERIFY_TEST_SECRET", None)
    seconds = time.perf_counter() - start
    time.sleep(config["daemon_delay"] + 0.5)  # a surviving daemon would have written by now
    listener.close()
    yield {"rc": rc, "seconds": seconds, "out": out, "config": config, "sub": sub,
           "tmp": tmp, "listener": listener, "left": _processes_mentioning(str(sub))}
    Path(config["pycache_file"]).unlink(missing_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _result(attacked: dict) -> SubmissionResult:
    return SubmissionResult.from_dict(json.loads(attacked["out"]["json"].read_text()))


def _all_output(attacked: dict) -> str:
    return "\n".join(p.read_text() for p in attacked["out"].values())


@functools.cache
def _reference_result(only: tuple[str, ...] = CLEAN + ATTACKED) -> SubmissionResult:
    return check_submission(REFERENCE, max_examples=3, only=only)


def test_grade_completes_with_every_file_and_records_the_sandbox(attacked: dict) -> None:
    assert attacked["rc"] == 0
    result = _result(attacked)
    assert {i.name for i in result.items} == set(CLEAN + ATTACKED)
    assert result.sandbox.startswith(f"landlock abi {SUPPORT.landlock_abi} + pid namespace")
    uid = sandbox.plan("auto", attacked["sub"]).uid
    assert (f"uid {uid}" in result.sandbox) == (uid >= 0), result.sandbox
    gradescope = json.loads(attacked["out"]["gradescope"].read_text())
    assert len(gradescope["tests"]) == len(CLEAN + ATTACKED)
    assert attacked["out"]["junit"].stat().st_size > 0
    assert attacked["seconds"] < 60


@pytest.mark.parametrize("item", CLEAN)
def test_unrelated_items_keep_full_marks(attacked: dict, item: str) -> None:
    assert _result(attacked).item(item) == _reference_result().item(item)


def test_reference_trick_earns_nothing(attacked: dict) -> None:
    """Finding the grader's tree via sys.path/sys.argv/bpverify.__path__ and importing
    reference/: the sandbox cannot read it, so the wrong fallback is graded."""
    item = _result(attacked).item("MultiplyGate")
    assert item.status == "failed" and item.score < _reference_result().item("MultiplyGate").score
    assert item.check("forward").kind == "wrong-values"


@pytest.mark.parametrize(
    "item", ["MaxGate", "ExpGate", "ReciprocalGate", "AddConstGate", "SigmoidNeuron"])
def test_contained_attacks_cost_nothing(attacked: dict, item: str) -> None:
    """Each attack failed inside the sandbox, so the item computed the right answer."""
    assert _result(attacked).item(item).passed, _result(attacked).item(item)


@pytest.mark.parametrize("item", ["affine_forward", "relu_backward"])
def test_thread_and_fork_floods_stop_at_the_cap(attacked: dict, item: str) -> None:
    """2000 threads or processes were asked for; the cap stopped them long before.  The flood
    costs only its own item: it may lose the checks that ran while its worker was at the cap
    (other items keep their marks: test_contained_attacks_cost_nothing), and whatever it lost
    is the submission's failure, never an internal error of the grader."""
    checks = _result(attacked).item(item).checks
    assert checks and not any("FLOOD" in c.message for c in checks)
    assert not any(c.kind == "internal-error" for c in checks), [c.message for c in checks]


def test_no_foreign_file_is_read(attacked: dict) -> None:
    text = _all_output(attacked)
    assert SECRET not in text and "STOLEN" not in text
    assert "class MultiplyGate" not in text  # reference/gates.py


def test_no_foreign_file_is_written(attacked: dict) -> None:
    config = attacked["config"]
    assert Path(config["other_results"]).read_text() == '{"score": 12}'
    assert not Path(config["pycache_file"]).exists()
    assert not Path(config["outside_file"]).exists()
    assert "WROTE" not in _all_output(attacked)


def test_no_connection_reaches_the_grader_side(attacked: dict) -> None:
    assert attacked["listener"].got == []


def test_no_process_is_left_and_no_daemon_wrote_later(attacked: dict) -> None:
    assert attacked["left"] == []
    assert not Path(attacked["config"]["daemon_file"]).exists()


def test_killing_the_parent_costs_only_its_item(attacked: dict) -> None:
    # kill(getppid()) is kill(0, ...) in the namespace: its own group, where PID 1 ignores it;
    # the grader is out of reach.  We are still here, and the other items are intact.
    assert _result(attacked).item("ScaleGate").status in ("passed", "failed")
    assert all(_result(attacked).item(n).passed for n in CLEAN)


def test_autodiff_library_is_refused_with_a_message(attacked: dict) -> None:
    check = _result(attacked).item("SigmoidGate").check("backward")
    assert check.status == "failed"
    assert "SigmoidGate imports jax: this assignment asks for a hand-written backward pass" \
        in check.message, check.message


# --- fallback levels and modes ----------------------------------------------------------------


def _weaker(monkeypatch: pytest.MonkeyPatch, **changes: object) -> None:
    """Plan as if the machine lacked some mechanism (the worker applies only the plan)."""
    from dataclasses import replace

    monkeypatch.setattr(sandbox, "detect", lambda: replace(SUPPORT, **changes))


def test_require_refuses_without_full_containment(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    _weaker(monkeypatch, landlock_abi=0)
    rc = main(["grade", str(REFERENCE), *FAST, *_only("AddGate"), "--sandbox", "require",
               "--json", str(tmp_path / "r.json")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--sandbox require" in err and "files: the submission can read" in err
    assert not (tmp_path / "r.json").exists()


@needs_full
def test_require_grades_where_everything_is_available(tmp_path: Path) -> None:
    assert main(["grade", str(REFERENCE), *FAST, *_only("AddGate"), "--sandbox", "require",
                 "--json", str(tmp_path / "r.json")]) == 0
    result = SubmissionResult.from_dict(json.loads((tmp_path / "r.json").read_text()))
    assert result.item("AddGate").passed and "landlock" in result.sandbox


def test_without_landlock_or_namespaces_the_grade_warns_and_completes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    _weaker(monkeypatch, landlock_abi=0, namespaces=False, cgroup_pids="",
            why_not=("pretend: no Landlock, no namespaces",))
    assert main(["grade", str(REFERENCE), *FAST, *_only("AddGate"),
                 "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "warning: the sandbox does not defend against" in out and "files:" in out
    result = SubmissionResult.from_dict(json.loads((tmp_path / "r.json").read_text()))
    assert result.item("AddGate").passed
    plan = sandbox.plan("auto", REFERENCE)  # the uid drop does not need Landlock or namespaces
    cap = sandbox.NPROC_CAP
    dropped = (f"uid {plan.uid} + seccomp + {cap} processes",) if plan.uid >= 0 else ()
    # Root without a pids cgroup: RLIMIT_NPROC does not bind uid 0, so seccomp's "no fork" caps.
    assert result.sandbox in ("none (resource limits only)", "seccomp + no fork", *dropped)


LEAK = f"""
import os
_daemon_started = []


class AddGate:
    def forward(self, x, y):
        if not _daemon_started:
            _daemon_started.append(1)
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    import time
                    time.sleep(1.0)
                    with open({{daemon!r}}, "w") as f:
                        f.write("DAEMON")
                os._exit(0)
        try:
            return float(open({{secret!r}}).read() == {SECRET!r}) + x + y
        except OSError:
            return x + y

    def backward(self, dz):
        return dz, dz
"""


@pytest.mark.skipif(SUPPORT.landlock_abi < 1, reason="the kernel has no Landlock")
def test_landlock_without_namespaces_still_denies_files(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _weaker(monkeypatch, namespaces=False)  # the machine's pids cgroup (if any) caps the forks
    (tmp_path / "secret.txt").write_text(SECRET)
    sub = tmp_path / "student" / "leak.py"
    sub.parent.mkdir()
    daemon = tmp_path / "daemon.txt"
    sub.write_text(LEAK.format(daemon=str(daemon), secret=str(tmp_path / "secret.txt")))
    result = check_submission(sub, max_examples=3, only=["AddGate"],
                              executor_factory=WorkerExecutor)
    assert result.item("AddGate").passed  # the secret was not readable
    assert result.sandbox.startswith(f"landlock abi {SUPPORT.landlock_abi} + no tcp")
    time.sleep(1.5)
    assert not daemon.exists()  # Landlock: no write outside its scratch folder


def _daemons(tmp: Path) -> tuple[Path, Path]:
    """The reference with tests/hostile/daemons.py on top; and the file its daemon may not write."""
    config = {"daemon_file": str(tmp / "daemon.txt")}
    sub = tmp / "student" / "daemons.py"
    sub.parent.mkdir()
    sub.write_text(_reference_source() + f"\nCONFIG = {config!r}\n" + DAEMONS.read_text())
    return sub, tmp / "daemon.txt"


#: The daemons' items, items built on them, and the later item they aim at (relu_forward).
AFTER_DAEMONS = ("AddGate", "MultiplyGate", "AddConstGate", "ScaleGate", "SigmoidNeuron",
                 "relu_forward", "relu_backward", "circuit (x+y)*z", "circuit sigmoid neuron")


@needs_full
def test_daemons_cannot_answer_for_a_later_item(tmp_path: Path) -> None:
    """Issue 22: a setsid daemon whose write is denied unwound into its copy of the worker's
    request loop and answered the grader, and a later item failed with "a reply to request N
    while waiting for M".  A daemon forging replies into the inherited pipe is as harmless."""
    sub, daemon = _daemons(tmp_path)
    result = check_submission(sub, max_examples=3, only=AFTER_DAEMONS,
                              executor_factory=WorkerExecutor)
    for name in AFTER_DAEMONS:
        assert result.item(name) == _reference_result(AFTER_DAEMONS).item(name), name
    assert _processes_mentioning(str(sub)) == [] and not daemon.exists()


@pytest.mark.skipif(SUPPORT.landlock_abi < 1, reason="the kernel has no Landlock")
def test_without_namespaces_a_daemon_still_cannot_answer(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without a PID namespace the daemon lives on until its item ends (the grader then kills
    what is below the worker); its copy of the worker never answers (the forger, MultiplyGate,
    is not called: it could write into the pipe while its item runs)."""
    _weaker(monkeypatch, namespaces=False)  # the machine's pids cgroup (if any) caps the forks
    sub, daemon = _daemons(tmp_path)
    only = ("AddGate", "AddConstGate", "ScaleGate", "SigmoidNeuron", "relu_forward",
            "relu_backward")
    result = check_submission(sub, max_examples=3, only=only, executor_factory=WorkerExecutor)
    for name in only:
        assert result.item(name) == _reference_result(only).item(name), name
    assert not daemon.exists()
    assert _processes_mentioning(str(sub)) == []


FORK_AT_IMPORT = """
import os as _os
import time as _time

if _os.fork() != 0:  # the child goes on importing, and returns into its copy of the worker
    _time.sleep(0.5)
"""


@pytest.mark.parametrize("namespaces", [True, False])
def test_a_child_forked_at_import_never_answers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, namespaces: bool) -> None:
    """Issue 22: only the worker itself answers the grader.  Without that, the child said
    "ready" and answered the first request, the worker's own "ready" came later, and every
    item failed with "a reply to request 0 while waiting for N" (each restart forked again)."""
    if not namespaces:
        _weaker(monkeypatch, namespaces=False)
    sub = tmp_path / "student" / "forks.py"
    sub.parent.mkdir()
    sub.write_text(_reference_source() + FORK_AT_IMPORT)
    only = ("AddGate", "AddConstGate", "relu_forward")
    result = check_submission(sub, max_examples=3, only=only, executor_factory=WorkerExecutor)
    for name in only:
        assert result.item(name) == _reference_result(only).item(name), name


def test_sandbox_off_runs_with_resource_limits_only(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(SECRET)
    sub = tmp_path / "student" / "leak.py"
    sub.parent.mkdir()
    sub.write_text(LEAK.format(daemon=str(tmp_path / "d.txt"),
                               secret=str(tmp_path / "secret.txt")).replace("os.fork() == 0",
                                                                            "False"))
    factory = functools.partial(WorkerExecutor, sandbox="off")
    result = check_submission(sub, max_examples=3, only=["AddGate"], executor_factory=factory)
    assert result.sandbox == "off (resource limits only)"
    # Trusted code only: nothing stops it reading the secret (so its answer is off by one).
    assert not result.item("AddGate").passed


def test_rubric_can_allow_autodiff(tmp_path: Path) -> None:
    sub = tmp_path / "uses_jax.py"
    sub.write_text("import jax\n\nclass AddGate:\n    def forward(self, x, y):\n"
                   "        return x + y\n\n    def backward(self, dz):\n        return dz, dz\n")
    refused = check_submission(sub, max_examples=3, only=["AddGate"],
                               executor_factory=WorkerExecutor)
    assert "uses_jax.py imports jax: this assignment asks for a hand-written backward pass" \
        in refused.load_error
    assert refused.item("AddGate").status == "not implemented"
    rubric = tmp_path / "rubric.toml"
    rubric.write_text('name = "autodiff"\n[options]\nallow_autodiff = true\n[items.AddGate]\n')
    factory = functools.partial(WorkerExecutor, memory_mb=4096)
    allowed = check_submission(sub, max_examples=3, only=["AddGate"], rubric=rubric,
                               executor_factory=factory)
    assert allowed.load_error == "" and allowed.item("AddGate").passed
