"""One submission's items graded in several processes (``--jobs``): the same result as one.

Each test grades through a door users use (``bpverify grade``, ``check_submission``) with
``jobs=1`` and ``jobs=2`` and compares the results.  Identical results alone would also come
from a helper process that never helped, so every executor here is a :class:`Spy`: it logs
which process begins which item, holds the parent at its first item until the helper has
begun its own (so both really grade), and makes the helper die or raise on request.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import bpverify.batch
from bpverify.cli import main
from bpverify.grading.engine import check_submission
from bpverify.model import SubmissionResult
from bpverify.submission import Executor, InProcessExecutor, LoadSpec, load_submission
from bpverify.submission.worker import WorkerExecutor

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
MISTAKE = ROOT / "tests" / "zoo" / "mistakes" / "softmax_grad_not_divided.py"
ITEMS = ("AddGate", "MaxGate", "affine_forward", "softmax_loss", "TwoLayerNet")
FAST = ["--examples", "3", "--timeout", "3", "--memory", "600"]

#: The Spy's settings, in the environment so that spawned helpers see them too: the file it
#: logs "<parent|helper> <pid> <item>" lines to; what a helper (the parent) does as it begins
#: its n-th item ("die:1": os._exit(1) at the first; "raise:2", "interrupt:2": raise
#: RuntimeError, KeyboardInterrupt at the second); how many items the helper must have begun
#: before the parent begins its first.
LOG_ENV, HELPER_ENV, PARENT_ENV, GATE_ENV = (
    "BPVERIFY_TEST_SPY_LOG", "BPVERIFY_TEST_SPY_HELPER", "BPVERIFY_TEST_SPY_PARENT",
    "BPVERIFY_TEST_SPY_GATE")
#: How long the parent waits at its first item for the helper to begin its own.
GATE_TIMEOUT = 60.0


class Spy:
    """An executor (a worker, or in-process with ``in_process=True``) that logs and obeys the
    environment above.  A class of this module, so that its partials pickle into helpers."""

    def __init__(self, path: Path, spec: LoadSpec | None = None, *, in_process: bool = False,
                 **worker_options: Any) -> None:
        spec = spec or LoadSpec()
        self.inner: Executor = (InProcessExecutor(spec.load(path)) if in_process
                                else WorkerExecutor(path, spec, **worker_options))
        self.sandbox = self.inner.sandbox
        self.begun = 0

    def call(self, scenario: str, **kwargs: Any) -> Any:
        return self.inner.call(scenario, **kwargs)

    def close(self) -> None:
        self.inner.close()

    def begin_item(self, name: str) -> None:
        helper = multiprocessing.parent_process() is not None
        self.begun += 1
        with open(os.environ[LOG_ENV], "a") as log:
            log.write(f"{'helper' if helper else 'parent'} {os.getpid()} {name}\n")
        act, _, at = os.environ.get(HELPER_ENV if helper else PARENT_ENV, "").partition(":")
        if at and int(at) == self.begun:
            if act == "die":
                os._exit(1)
            if act == "raise":
                raise RuntimeError("a helper that breaks")
            if act == "interrupt":
                raise KeyboardInterrupt
        if not helper and self.begun == 1:
            wanted = int(os.environ.get(GATE_ENV, "0"))
            deadline = time.monotonic() + GATE_TIMEOUT
            while len(_log("helper")) < wanted and time.monotonic() < deadline:
                time.sleep(0.02)
        self.inner.begin_item(name)


def _log(who: str | None = None) -> list[tuple[str, int, str]]:
    """The Spy's log: (who, pid, item) per begun item, of ``who`` only if given."""
    path = Path(os.environ[LOG_ENV])
    rows = [line.split(" ", 2) for line in path.read_text().splitlines()] if path.exists() else []
    return [(w, int(pid), item) for w, pid, item in rows if who in (None, w)]


@pytest.fixture
def spy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "spy.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.setenv(GATE_ENV, "1")  # both processes grade, unless a test says otherwise
    monkeypatch.setattr(bpverify.batch, "WorkerExecutor", Spy)  # what `bpverify grade` runs
    return log


def _gate(jobs: int) -> None:
    """With a helper, the parent waits for it to begin an item; alone, it waits for nothing."""
    os.environ[GATE_ENV] = "1" if jobs > 1 else "0"  # restored by the spy fixture


def _without_timing(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("duration_s")  # the one timing field of the result model
    return data


def _grade_cli(submission: Path, out: Path, jobs: int, capsys: pytest.CaptureFixture[str],
               log: Path) -> tuple[dict[str, Any], list[tuple[str, int, str]]]:
    """``bpverify grade`` with ``--jobs``: the JSON result and the Spy's log of the run."""
    log.unlink(missing_ok=True)
    _gate(jobs)
    only = [a for item in ITEMS for a in ("--only", item)]
    code = main(["grade", str(submission), *FAST, *only, "--jobs", str(jobs), "--json", str(out)])
    capsys.readouterr()
    assert code == 0
    return _without_timing(json.loads(out.read_text())), _log()


def _assert_both_graded(log: list[tuple[str, int, str]]) -> None:
    helpers = {pid for who, pid, _ in log if who == "helper"}
    assert len(helpers) == 1 and os.getpid() not in helpers, log
    assert {item for who, _, item in log if who == "parent"}, log
    assert sorted(item for _, _, item in log) == sorted(ITEMS), "each item begun exactly once"


def test_two_jobs_grade_the_reference_as_one_does(tmp_path: Path, spy: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    one, log_one = _grade_cli(REFERENCE, tmp_path / "a.json", 1, capsys, spy)
    two, log_two = _grade_cli(REFERENCE, tmp_path / "b.json", 2, capsys, spy)
    assert {who for who, _, _ in log_one} == {"parent"}
    _assert_both_graded(log_two)
    assert [i["name"] for i in two["items"]] == list(ITEMS)  # the rubric's order
    assert two == one


def test_a_failure_is_shrunk_diagnosed_and_scored_alike(
    tmp_path: Path, spy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The zoo file imports the reference; next to a copy of it, the isolated worker finds it.
    shutil.copytree(REFERENCE, tmp_path / "reference")
    submission = Path(shutil.copy(MISTAKE, tmp_path))
    one, _ = _grade_cli(submission, tmp_path / "a.json", 1, capsys, spy)
    two, log = _grade_cli(submission, tmp_path / "b.json", 2, capsys, spy)
    _assert_both_graded(log)
    failed = SubmissionResult.from_dict(two).item("softmax_loss").check("gradient")
    assert failed.status == "failed" and failed.example and failed.mismatches
    assert failed.diagnosis is not None
    assert two == one
    assert SubmissionResult.from_dict(two).score < SubmissionResult.from_dict(one).max_score


SIGNALS_ITSELF = """
import os
import signal


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz


class MultiplyGate:
    def forward(self, x, y):
        os.kill(os.getpid(), signal.SIGINT)
        return x * y

    def backward(self, dz):
        return dz, dz
"""


def test_a_helper_runs_the_worker_as_the_parent_does(tmp_path: Path, spy: Path) -> None:
    """A worker inherits signal dispositions from the process that starts it: a submission that
    sends itself SIGINT must raise KeyboardInterrupt in a helper's worker too."""
    submission = tmp_path / "signals_itself.py"
    submission.write_text(SIGNALS_ITSELF)
    graded = {}
    for jobs in (1, 2):
        _gate(jobs)
        graded[jobs] = check_submission(submission, max_examples=3, jobs=jobs,
                                        only=["AddGate", "MultiplyGate"],
                                        executor_factory=functools.partial(Spy, timeout=3))
    assert ("helper", "MultiplyGate") in [(who, item) for who, _, item in _log()]
    check = graded[2].item("MultiplyGate").check("forward")
    assert check.status == "failed" and "raised KeyboardInterrupt" in check.message
    assert graded[2] == graded[1]


# --- robustness: whatever a helper does, the parent completes the same result -----------------


@functools.cache
def _sequential() -> SubmissionResult:
    return check_submission(REFERENCE, max_examples=3, only=ITEMS)


def _grade_api(**kwargs: Any) -> SubmissionResult:
    return check_submission(REFERENCE, max_examples=3, only=ITEMS, jobs=2,
                            executor_factory=functools.partial(Spy, in_process=True), **kwargs)


@pytest.mark.parametrize("act", ["die:1", "die:2", "raise:1"])
def test_items_a_helper_took_and_never_returned_are_graded_by_the_parent(
    act: str, spy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HELPER_ENV, act)
    monkeypatch.setenv(GATE_ENV, act.partition(":")[2])
    progress: list[str] = []
    result = _grade_api(progress=progress.append)
    helper_items = [item for who, _, item in _log("helper")]
    assert len(helper_items) == int(act.partition(":")[2]), _log()
    lost = helper_items[-1]  # the item the helper began and never returned
    assert ("parent", os.getpid(), lost) in _log(), "the parent graded it itself"
    assert result == _sequential()  # complete, in order, and the same
    assert set(progress) == set(ITEMS)


def test_without_processes_the_parent_grades_alone(spy: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(method: str) -> None:
        raise OSError("no processes here")

    monkeypatch.setattr(multiprocessing, "get_context", refuse)
    monkeypatch.setenv(GATE_ENV, "0")  # there is no helper to wait for
    assert _grade_api() == _sequential()
    assert {who for who, _, _ in _log()} == {"parent"}


def test_an_interrupted_grade_stops_its_helpers(spy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PARENT_ENV, "interrupt:2")
    with pytest.raises(KeyboardInterrupt):
        _grade_api()
    assert _log("helper"), "the helper was grading when the parent was interrupted"
    assert multiprocessing.active_children() == []


def test_loading_in_process_keeps_libraries_that_live_next_to_the_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader forgets modules imported from beside the submission (a book's common/), but
    not a library on the grader's own path that lives there too (a virtual environment next to
    the submission): the oracles' warm-up thread imports parts of JAX while an in-process
    submission loads, and forgetting them broke JAX for the rest of the grade."""
    site = tmp_path / "venv" / "site-packages"
    site.mkdir(parents=True)
    (site / "bpverify_test_library.py").write_text("VALUE = 1\n")
    (tmp_path / "bpverify_test_sibling.py").write_text("VALUE = 2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "solution.py").write_text(
        "import bpverify_test_library, bpverify_test_sibling\n")
    monkeypatch.syspath_prepend(str(site))
    for name in ("bpverify_test_library", "bpverify_test_sibling"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    loaded = load_submission(tmp_path / "sub" / "solution.py")
    assert not loaded.load_errors
    assert "bpverify_test_library" in sys.modules
    assert "bpverify_test_sibling" not in sys.modules
