"""Student code runs in an isolated worker: a hostile submission loses only its own items.

The hostile submissions live in tests/hostile/; each test grades one through the same doors a
user uses (``bpverify grade`` or ``check_submission``) and checks that the grade completes,
that every output file is written, and that the misbehaving items say what went wrong.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import pickle
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpverify.cli import main
from bpverify.contract import ContractError, Opaque
from bpverify.grading.engine import check_submission
from bpverify.model import SubmissionResult
from bpverify.submission import StudentError
from bpverify.submission.worker import ProtocolError, WorkerExecutor, decode, encode

REPO = Path(__file__).resolve().parent.parent
HOSTILE = Path(__file__).resolve().parent / "hostile"
REFERENCE = REPO / "reference"
#: Small and fast: three examples per check, generous limits for a loaded 2-core machine.
FAST = ["--examples", "3", "--timeout", "2", "--memory", "400"]

GOOD_GATES = """
class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz


class MultiplyGate:
    \"\"\"Wrong: adds instead of multiplying.\"\"\"

    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz
"""


def _only(*items: str) -> list[str]:
    return [a for item in items for a in ("--only", item)]


def _grade(submission: Path, out: Path, *items: str, extra: tuple[str, ...] = ()) -> int:
    return main(["grade", str(submission), *FAST, *_only(*items), "--out", str(out), *extra])


def _read(folder: Path) -> tuple[dict, ET.Element, SubmissionResult]:
    """The three results files of one submission; each must parse."""
    gradescope = json.loads((folder / "results.json").read_text(),
                            parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    junit = ET.parse(folder / "junit.xml").getroot()
    result = SubmissionResult.from_dict(json.loads((folder / "bpverify.json").read_text()))
    return gradescope, junit, result


@functools.cache
def _reference(*items: str) -> SubmissionResult:
    """The reference, graded in-process with the same options: what a right item earns."""
    return check_submission(REFERENCE, max_examples=3, only=items)


# --- the zoo: one misbehaviour per gate, graded once ----------------------------------------------

ZOO_ITEMS = ("AddGate", "MultiplyGate", "MaxGate", "ExpGate", "ReciprocalGate", "AddConstGate",
             "ScaleGate", "SigmoidGate", "SigmoidNeuron", "relu_forward")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("zoo")
    rc = _grade(HOSTILE / "zoo.py", out, *ZOO_ITEMS)
    return rc, out / "zoo"


def test_zoo_grade_completes_with_every_file(zoo: tuple[int, Path]) -> None:
    rc, folder = zoo
    assert rc == 0
    gradescope, junit, result = _read(folder)
    assert [t["name"] for t in gradescope["tests"]] == list(ZOO_ITEMS)
    assert [i.name for i in result.items] == list(ZOO_ITEMS)
    assert junit.find("testsuite") is not None
    # One timeout (2 s) for the hung item, not one per call: its later calls fail at once,
    # without a worker (test_timeout_restarts_the_worker_and_item_budget_fails_fast).


@pytest.mark.parametrize("item", ["AddGate", "relu_forward"])
def test_zoo_right_items_keep_their_marks(zoo: tuple[int, Path], item: str) -> None:
    _, _, result = _read(zoo[1])
    # Printing megabytes to sys.stdout, sys.__stdout__ and fds 1 and 2 changes nothing.
    assert result.item(item) == _reference(item).item(item)
    assert result.item(item).passed


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("MultiplyGate", "timed out after 2 s"),
        ("MaxGate", "raised SystemExit: 3"),
        ("ExpGate", "exited with status 7"),
        ("ReciprocalGate", "segmentation fault (SIGSEGV)"),
        ("AddConstGate", "out of memory: the worker's limit is 400 MB"),
        ("ScaleGate", "raised ValueError"),
        ("SigmoidGate", "raised KeyboardInterrupt"),
        ("SigmoidNeuron", "raised KeyboardInterrupt"),
    ],
)
def test_zoo_misbehaving_items_fail_with_a_clear_message(
    zoo: tuple[int, Path], item: str, says: str
) -> None:
    gradescope, _, result = _read(zoo[1])
    checks = result.item(item).checks
    assert checks and all(c.status == "failed" and c.kind == "raised" for c in checks)
    assert all(says in c.message for c in checks), checks[0].message
    assert "did not always repeat" not in checks[0].message
    test = next(t for t in gradescope["tests"] if t["name"] == item)
    assert (test["status"], test["score"]) == ("failed", 0.0)


def test_zoo_huge_hostile_message_is_cut_and_cleaned(zoo: tuple[int, Path]) -> None:
    gradescope, junit, _ = _read(zoo[1])
    test = next(t for t in gradescope["tests"] if t["name"] == "ScaleGate")
    assert len(test["output"]) <= 10_000
    assert "\x00" not in test["output"] and "\x1b" not in test["output"]
    failure = next(c for c in junit.iter("testcase") if c.get("name") == "ScaleGate forward")
    assert failure.find("failure") is not None
    assert (zoo[1] / "junit.xml").stat().st_size < 200_000


# --- patching numpy or bpverify inside the worker -------------------------------------------------


@pytest.mark.parametrize("name", ["patch_numpy.py", "patch_bpverify.py"])
def test_patching_inside_the_worker_cannot_reach_the_grader(tmp_path: Path, name: str) -> None:
    # --sandbox off: the sandbox would not even let the submission read bpverify.grading
    # (tests/test_sandbox.py); this checks the layer beneath, the plain-data protocol.
    assert _grade(HOSTILE / name, tmp_path, "AddGate", "MultiplyGate",
                  extra=("--sandbox", "off")) == 0
    gradescope, _, result = _read(tmp_path / Path(name).stem)
    assert result.item("AddGate") == _reference("AddGate").item("AddGate")
    wrong = result.item("MultiplyGate")
    assert wrong.status == "failed"
    assert wrong.check("forward").kind == "wrong-values"
    assert wrong.check("backward").kind == "wrong-values"
    assert result.bpverify_version != "forged"
    assert gradescope["score"] == result.item("AddGate").score + wrong.score < 7


# --- forged results files -------------------------------------------------------------------------

FORGE = """
import atexit, os, threading, time

TARGETS = {targets!r}


def forge(how):
    for path in TARGETS:
        try:
            with open(path, "w") as f:
                f.write("FORGED " + how)
        except OSError:
            pass


forge("at import")
atexit.register(forge, "at exit")
threading.Thread(target=lambda: (time.sleep(0.3), forge("by a thread")), daemon=True).start()
if os.fork() == 0:  # a process of its own, still in the worker's process group
    time.sleep(1.0)
    forge("by a child process")
    os._exit(0)
"""


def test_forged_results_files_cannot_change_the_outputs(tmp_path: Path) -> None:
    files = {"gradescope": tmp_path / "results.json", "junit": tmp_path / "junit.xml",
             "json": tmp_path / "bpverify.json"}
    sub = tmp_path / "forger.py"
    sub.write_text(FORGE.format(targets=[str(p) for p in files.values()]) + GOOD_GATES)
    argv = ["grade", str(sub), *FAST, *_only("AddGate", "MultiplyGate")]
    argv += [a for fmt, path in files.items() for a in (f"--{fmt}", str(path))]
    assert main(argv) == 0
    time.sleep(1.5)  # anything the submission left behind would have written by now
    for path in files.values():
        assert "FORGED" not in path.read_text()
    gradescope, _, result = _read(tmp_path)
    assert result.item("AddGate").passed and not result.item("MultiplyGate").passed
    assert gradescope["score"] == result.score


# --- submissions that cannot be imported ----------------------------------------------------------


def test_syntax_error_scores_zero_and_writes_every_file(tmp_path: Path) -> None:
    sub = tmp_path / "broken.py"
    sub.write_text('"""A SyntaxError on line 3."""\n\ndef forward(self, x)\n    return x\n')
    files = [tmp_path / "gs.json", tmp_path / "j.xml", tmp_path / "r.json"]
    rc = main(["grade", str(sub), *FAST, "--gradescope", str(files[0]), "--junit",
               str(files[1]), "--json", str(files[2])])
    assert rc == 0
    gradescope = json.loads(files[0].read_text())
    assert gradescope["score"] == 0 and len(gradescope["tests"]) >= 19
    for test in gradescope["tests"]:
        assert "SyntaxError in broken.py, line 3" in test["output"], test
    junit = ET.parse(files[1]).getroot()
    assert int(junit.get("failures")) == len(gradescope["tests"])
    assert "SyntaxError" in json.loads(files[2].read_text())["load_error"]


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("import ctypes\nctypes.string_at(0)\n", "segmentation fault"),
        ("while True:\n    pass\n", "did not finish importing within 4 s"),
        ("import os\nos._exit(4)\n", "exited with status 4"),
    ],
    ids=["segfault", "hang", "os._exit"],
)
def test_import_time_crash_is_graded_as_not_implemented(
    tmp_path: Path, source: str, says: str
) -> None:
    sub = tmp_path / "crasher.py"
    sub.write_text(source)
    result = check_submission(sub, max_examples=3, only=["AddGate", "relu_forward"],
                              executor_factory=functools.partial(WorkerExecutor, timeout=1))
    assert says in result.load_error
    for item in result.items:
        assert item.status == "not implemented" and says in item.message
        assert item.score == 0


# --- the executor itself --------------------------------------------------------------------------


def test_worker_environment_is_clean_and_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPVERIFY_TEST_SECRET", "grader's token")
    with WorkerExecutor(HOSTILE / "probe.py", memory_mb=700) as ex:
        jax, hypothesis, secret, temp_cwd, limit_mb, n_env = ex.call(
            "gate_forward", name="AddGate", const=None, inputs=[0.0, 0.0])
    assert (jax, hypothesis, secret, temp_cwd, limit_mb) == (0.0, 0.0, 0.0, 1.0, 700.0)
    assert n_env < 10


def test_timeout_restarts_the_worker_and_item_budget_fails_fast() -> None:
    with WorkerExecutor(HOSTILE / "zoo.py", timeout=1) as ex:
        ex.begin_item("MultiplyGate")
        with pytest.raises(StudentError, match="timed out after 1 s"):
            ex.call("gate_forward", name="MultiplyGate", const=None, inputs=[1.0, 2.0])
        asked = ex.calls
        with pytest.raises(StudentError, match="timed out after 1 s"):  # the same item: at once
            ex.call("gate_forward", name="MultiplyGate", const=None, inputs=[1.0, 2.0])
        assert ex.calls == asked  # the repeat never reached a worker (how fast: benchmarks/)
        ex.begin_item("AddGate")
        assert ex.call("gate_forward", name="AddGate", const=None, inputs=[1.0, 2.0]) == 3.0
        assert ex.starts == 2


def test_item_budget_stops_a_slow_item() -> None:
    with WorkerExecutor(HOSTILE / "probe.py", timeout=1, item_budget=1) as ex:
        ex.begin_item("MultiplyGate")
        answered = 0
        with pytest.raises(StudentError, match="time budget of 1 s"):
            for _ in range(20):  # 0.2 s each
                ex.call("gate_forward", name="MultiplyGate", const=None, inputs=[1.0, 2.0])
                answered += 1
        assert 2 <= answered <= 5


MISTAKES = """
import numpy as np


class AddGate:
    def forward(self, x, y):
        return np.float32(x) + np.float32(y)  # float32: judged with float32 tolerances

    def backward(self, dz):
        return dz  # one gradient for two inputs: a ContractError


class MultiplyGate:
    def forward(self, x, y):
        self.x = x
        return x * y

    def backward(self, dz):
        return self.y * dz, self.x * dz  # AttributeError: a StudentError with a traceback


def relu_forward(x):
    return np.maximum(x, 0.0)  # not an (out, cache) pair


def relu_backward(dout, cache):
    dout[cache < 0] = 0  # modifies dout in place
    return dout
"""


def test_isolated_results_equal_in_process_results(tmp_path: Path) -> None:
    """Errors, contract violations and dtypes survive the trip with every field intact."""
    sub = tmp_path / "mistakes.py"
    sub.write_text(MISTAKES)
    items = ["AddGate", "MultiplyGate", "relu_forward", "relu_backward"]
    isolated = check_submission(sub, max_examples=3, only=items, executor_factory=WorkerExecutor)
    in_process = check_submission(sub, max_examples=3, only=items)
    assert isolated.sandbox != in_process.sandbox == "in-process (no isolation)"
    assert replace(isolated, sandbox="") == replace(in_process, sandbox="")
    assert "AttributeError" in isolated.item("MultiplyGate").check("backward").message


def test_student_and_contract_errors_cross_with_their_fields(tmp_path: Path) -> None:
    sub = tmp_path / "mistakes.py"
    sub.write_text(MISTAKES)
    with WorkerExecutor(sub) as ex:
        with pytest.raises(StudentError) as raised:
            ex.call("gate", name="MultiplyGate", const=None, inputs=[1.0, 2.0], dout=1.0)
        with pytest.raises(ContractError, match="expected a pair"):
            ex.call("layer_forward", forward="relu_forward", inputs=[np.ones(3)])
    err = raised.value
    assert (err.where, err.exc_type) == ("MultiplyGate.backward", "AttributeError")
    assert "'y'" in err.message and "mistakes.py" in err.tb


# --- the protocol ---------------------------------------------------------------------------------


def test_plain_data_round_trips_with_dtypes() -> None:
    value = (
        None, True, 3, -0.0, float("nan"), "text", [1.0, (2.0,)], Opaque("Tensor", "t"),
        {"f32": np.arange(6, dtype=np.float32).reshape(2, 3), "i8": np.array([1], np.int8),
         "scalar32": np.float32(1.5), "zero_d": np.array(2.0), "fortran":
         np.asfortranarray(np.ones((2, 3))), "empty": np.zeros((0, 4))},
    )
    for _ in range(2):  # the second time through the header cache
        back = decode(encode(value))
        assert repr(back) == repr(value)
        for key, arr in value[-1].items():
            assert type(back[-1][key]) is type(arr) and back[-1][key].dtype == arr.dtype
        assert back[-1]["fortran"].flags.f_contiguous and back[-1]["f32"].flags.writeable


FIRED: list[str] = []


class _Tripwire:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (FIRED.append, ("unpickled",))


def test_decode_never_unpickles() -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([_Tripwire()], dtype=object), allow_pickle=True)
    blob = buf.getvalue()
    head = b'{"a":0}'
    frame = len(head).to_bytes(4, "little") + head + len(blob).to_bytes(4, "little") + blob
    with pytest.raises(ProtocolError):
        decode(frame)
    with pytest.raises(ProtocolError):
        decode(pickle.dumps(_Tripwire()))
    assert FIRED == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decode_rejects_junk_with_protocol_error_only(junk: bytes) -> None:
    with contextlib.suppress(ProtocolError):  # and nothing else
        decode(junk)


def test_round_trips_share_one_worker() -> None:
    """The engine makes thousands of small calls; one persistent worker answers them all (what
    a round trip costs is measured by benchmarks/worker_bench.py, not asserted here)."""
    x = np.random.default_rng(0).random((3, 4))
    with WorkerExecutor(REFERENCE) as ex:
        for _ in range(201):
            res = ex.call("gate", name="MultiplyGate", const=None, inputs=[x, x], dout=x)
            np.testing.assert_array_equal(res["out"], x * x)
    assert (ex.calls, ex.starts) == (201, 1)


# --- the command line -----------------------------------------------------------------------------


def test_several_submissions_in_parallel_with_fail_under(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n")
    out = tmp_path / "out"
    rc = main(["grade", str(REFERENCE), str(broken), *FAST, *_only("AddGate", "relu_forward"),
               "--jobs", "2", "--out", str(out), "--fail-under", "50"])
    assert rc == 1  # the broken one scores 0%
    expected = _reference("AddGate", "relu_forward").score
    for folder, score in (("reference", expected), ("broken", 0.0)):
        gradescope, _, result = _read(out / folder)
        assert gradescope["score"] == result.score == score


@pytest.mark.parametrize(
    "argv",
    [
        ["reference", "reference", "--gradescope", "r.json"],
        ["reference", "--timeout", "0"],
        ["reference", "--memory", "10"],
        ["reference", "--in-process", "--timeout", "3"],
        ["reference", "--jobs", "0"],
        ["reference", "--fail-under", "101"],
        ["reference", "--out", "o", "--junit", "/abs/junit.xml"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpverify: error: ") and len(err.splitlines()) == 1


def test_exit_status_through_a_real_process(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no')\n")
    run = subprocess.run(
        [sys.executable, "-m", "bpverify", "grade", str(broken), *FAST, *_only("AddGate"),
         "--fail-under", "10", "--gradescope", str(tmp_path / "gs.json")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert run.returncode == 1, run.stderr
    gradescope = json.loads((tmp_path / "gs.json").read_text())
    assert gradescope["score"] == 0
    assert "RuntimeError: no" in gradescope["tests"][0]["output"]


def test_contract_facts_cross_the_wire_so_the_diagnosis_is_the_same(tmp_path: Path) -> None:
    """A backward that returns None inside a circuit is diagnosed alike, isolated or not."""
    student = tmp_path / "no_return.py"
    student.write_text(
        "class AddGate:\n"
        "    def forward(self, x, y):\n"
        "        return x + y\n\n"
        "    def backward(self, dz):\n"
        "        dx, dy = dz, dz\n\n"
        "class MultiplyGate:\n"
        "    def forward(self, x, y):\n"
        "        self.x, self.y = x, y\n"
        "        return x * y\n\n"
        "    def backward(self, dz):\n"
        "        return self.y * dz, self.x * dz\n"
    )
    graded = {
        how: check_submission(student, seed=0, profile="ci", only=["circuit (x+y)*z"],
                              executor_factory=factory)
        for how, factory in (("in-process", None), ("isolated", WorkerExecutor))
    }
    checks = {how: r.item("circuit (x+y)*z").check("backward") for how, r in graded.items()}
    assert checks["in-process"].status == checks["isolated"].status == "failed"
    assert checks["in-process"].diagnosis is not None
    assert checks["isolated"].diagnosis == checks["in-process"].diagnosis
    assert checks["isolated"].facts == checks["in-process"].facts


@pytest.mark.parametrize("arr", [
    np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.arange(12.0)[::3], np.array(2.5, np.float32), np.array([True, False]),
    np.arange(4, dtype=np.int64).reshape(2, 2).T[:, :1], np.zeros((0, 3), np.float32),
], ids=["c", "fortran", "strided", "0-d", "bool", "view", "empty"])
def test_encoding_a_known_shape_writes_exactly_what_np_save_writes(arr: np.ndarray) -> None:
    """Arrays of a dtype and shape seen before reuse np.save's header: still np.save's bytes."""
    saved = io.BytesIO()
    np.save(saved, arr, allow_pickle=False)
    for _ in range(2):  # the first may fill the header cache, the second reads it
        frame = encode(arr)
        head = int.from_bytes(frame[:4], "little")
        blob = frame[4 + head + 4:]
        assert blob == saved.getvalue()
        assert decode(frame).tobytes() == arr.tobytes() and decode(frame).shape == arr.shape


def test_a_worker_started_while_sigint_is_ignored_still_meets_a_self_interrupt() -> None:
    """A grade's parent ignores SIGINT for the moment it spawns a helper; a worker its other
    thread starts then must still raise KeyboardInterrupt when the submission signals itself
    (it used to inherit the ignoring: the zoo's SigmoidNeuron then passed its 0.0 off as an
    answer, now and then, in a loaded test run)."""
    import signal

    from bpverify.grading.engine import check_item

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        ex = WorkerExecutor(HOSTILE / "zoo.py", timeout=5, memory_mb=600)
        ex.call("inventory")  # the worker starts here, with SIGINT ignored
    finally:
        signal.signal(signal.SIGINT, before)
    with ex:
        result = check_item("SigmoidNeuron", ex, profile="ci", max_examples=3)
    assert result.checks and all(c.kind == "raised" and "KeyboardInterrupt" in c.message
                                 for c in result.checks), result.checks
