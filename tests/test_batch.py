"""A batch gives every submission the result it gets graded alone.

A batch draws each check's examples once and replays them to every submission, running
Hypothesis again only where a submission's outcome differs (bpverify/grading/replay.py), and
keeps the oracle's values per example (bpverify/grading/memo.py).  These tests grade correct,
wrong and hostile submissions through ``bpverify grade`` as a batch and one by one, and
compare every item's verdict, every check's status, counts, shrunk minimal example and message.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bpverify.cli import main
from bpverify.grading.engine import check_submission
from bpverify.grading.replay import Replays
from bpverify.submission.worker import WorkerExecutor

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
ITEMS = ("AddGate", "MultiplyGate", "MaxGate", "relu_backward", "affine_backward")
FAST = ["--profile", "ci", "--examples", "8", "--timeout", "3", "--memory", "600"]

GATES = '''
import numpy as np

class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz

class MaxGate:
    def forward(self, x, y):
        self.x_wins = np.asarray(x) >= np.asarray(y)
        return np.maximum(x, y)

    def backward(self, dz):
        return np.where(self.x_wins, dz, 0.0), np.where(self.x_wins, 0.0, dz)

def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w)

def affine_backward(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(0)

def relu_forward(x):
    return np.maximum(0, x), x
'''

#: Wrong only past a size, so the first replayed examples pass and a later one fails: the
#: batch must go on under Hypothesis from there and shrink to the same minimal example.
WRONG = GATES + '''
class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        if np.size(dz) > 2:
            return self.x * dz, self.y * dz    # swapped
        return self.y * dz, self.x * dz

def relu_backward(dout, cache):
    dout[cache <= 0] = 0                       # changes dout in place
    return dout
'''

#: Hostile: kills its worker on larger inputs (the worker restarts; the item's later calls
#: fail at once), and keeps state between calls (wrong from its 40th backward on).
HOSTILE = GATES + '''
import os

CALLS = [0]

class MultiplyGate:
    def forward(self, x, y):
        if np.size(x) > 6:
            os._exit(3)
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.y * dz, self.x * dz

def relu_backward(dout, cache):
    CALLS[0] += 1
    if CALLS[0] >= 40:
        return np.where(cache > 0, dout, 1.0)
    return np.where(cache > 0, dout, 0.0)
'''


def _class(root: Path) -> list[Path]:
    """A correct submission (the reference, twice), a wrong one and a hostile one."""
    paths = []
    for name in ("alice", "carol"):
        shutil.copytree(REFERENCE, root / name / "reference",
                        ignore=shutil.ignore_patterns("__pycache__"))
        paths.append(root / name / "reference")
    for name, text in (("bob", WRONG), ("dave", HOSTILE)):
        (root / name).mkdir()
        (root / name / "solution.py").write_text(textwrap.dedent(text))
        paths.append(root / name / "solution.py")
    return [paths[0], paths[2], paths[3], paths[1]]


def _graded(result: dict[str, Any]) -> dict[str, Any]:
    """Everything a student sees of each item, without timings."""
    return {i["name"]: {
        "status": i["status"], "score": i["score"], "message": i["message"],
        "checks": [{k: c.get(k) for k in ("name", "status", "kind", "message", "example",
                                           "examples_run", "examples_rejected", "facts",
                                           "diagnosis")}
                   for c in i["checks"]],
    } for i in result["items"]}


def _only() -> list[str]:
    return [a for name in ITEMS for a in ("--only", name)]


def test_a_batch_grades_each_submission_as_alone(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    paths = _class(tmp_path / "class")
    out = tmp_path / "out"
    code = main(["grade", *map(str, paths), *FAST, *_only(), "--jobs", "2", "--out", str(out),
                 "--json", "bpverify.json"])
    assert code == 0, capsys.readouterr().out
    # Results folders: the file or folder name, with its parent's where names repeat.
    folders = ["alice-reference", "bob-solution", "dave-solution", "carol-reference"]
    for path, folder in zip(paths, folders):
        alone = tmp_path / f"{folder}.json"
        assert main(["grade", str(path), *FAST, *_only(), "--jobs", "1",
                     "--json", str(alone)]) == 0
        batch = json.loads((out / folder / "bpverify.json").read_text())
        expected = _graded(json.loads(alone.read_text()))
        assert _graded(batch) == expected, folder
    capsys.readouterr()
    bob = _graded(json.loads((out / "bob-solution" / "bpverify.json").read_text()))
    assert bob["MultiplyGate"]["status"] == "failed"
    backward = next(c for c in bob["MultiplyGate"]["checks"] if c["name"] == "backward")
    assert backward["status"] == "failed"
    assert len(json.dumps(backward["example"])) < 200  # shrunk: three elements, simple values
    assert bob["relu_backward"]["status"] == "failed"
    dave = _graded(json.loads((out / "dave-solution" / "bpverify.json").read_text()))
    assert dave["MultiplyGate"]["status"] == "failed"
    assert "exited with status 3" in json.dumps(dave["MultiplyGate"])
    assert dave["AddGate"]["status"] == "passed"
    alice = _graded(json.loads((out / "alice-reference" / "bpverify.json").read_text()))
    assert all(i["status"] == "passed" for i in alice.values())


def test_replayed_examples_save_hypothesis_and_fall_back_where_outcomes_differ(
        tmp_path: Path) -> None:
    paths = _class(tmp_path / "class")
    replays = Replays()
    options: dict[str, Any] = {
        "timeout": 3, "max_examples": 8, "only": ("AddGate", "MultiplyGate", "relu_backward")}
    batch = _graded_counting(paths, replays, **options)
    # The first submission drew the examples; the second replayed them (every check passed
    # alone too), the wrong and hostile ones fell back on the checks they fail.  The copy of
    # the first (last) answered its recorded calls with the same bytes: nothing judged.
    assert replays.replayed > 0 and replays.fallbacks > 0 and replays.reasked > 0
    # The same verdicts, and each submission answered as many calls as alone: the hostile
    # one, which counts its calls, among them.
    assert batch == _graded_counting(paths, None, **options)


def test_kept_oracle_values_are_told_apart_by_their_bits_and_handed_out_as_copies() -> None:
    import numpy as np

    from bpverify.grading import memo, oracles

    memo.remember(True)
    try:
        before = memo.stats()
        plus = oracles.gate("ReciprocalGate", [np.array([0.0, 2.0])], None, np.ones(2))
        minus = oracles.gate("ReciprocalGate", [np.array([-0.0, 2.0])], None, np.ones(2))
        assert plus[0][0] == np.inf and minus[0][0] == -np.inf  # -0.0 is not 0.0
        kept = oracles.gate("ReciprocalGate", [np.array([0.0, 2.0])], None, np.ones(2))
        assert kept[0][1] == 0.5
        kept[0][1] = 99.0  # a judge changing what it was given changes nothing kept
        again = oracles.gate("ReciprocalGate", [np.array([0.0, 2.0])], None, np.ones(2))
        assert again[0][1] == 0.5
        after = memo.stats()
        assert after["hits"] - before["hits"] == 2
        assert after["misses"] - before["misses"] == 2
    finally:
        memo.remember(False)


def _copies(root: Path, sources: list[Path | tuple[Path, str]]) -> list[Path]:
    """Each source (or its text changed: ``(path, old, new)``) in a folder of its own."""
    paths = []
    for n, source in enumerate(sources):
        (root / f"s{n}").mkdir(parents=True)
        if isinstance(source, tuple):
            path, old, new = source
            text = path.read_text()
            assert old in text
            target = root / f"s{n}" / path.name
            target.write_text(text.replace(old, new))
            paths.append(target)
        else:
            paths.append(Path(shutil.copy(source, root / f"s{n}" / source.name)))
    return paths


def _graded_counting(paths: list[Path], replays: Replays | None, timeout: float = 5,
                     **options: Any) -> list[tuple[Any, int]]:
    """Each submission's result, and how many calls its workers answered."""
    out = []
    for path in paths:
        seen: list[WorkerExecutor] = []

        def factory(*args: Any, _seen: list[WorkerExecutor] = seen, **kwargs: Any) -> Any:
            ex = WorkerExecutor(*args, timeout=timeout, memory_mb=600, **kwargs)
            _seen.append(ex)
            return ex

        result = check_submission(path, replays=replays, profile="ci",
                                  executor_factory=factory, **{"max_examples": 6, **options})
        out.append((_graded(result.to_dict()), sum(ex.calls for ex in seen)))
    return out


#: A correct tanh that rounds differently past |x| = 2.6 (where the engine's survey of its
#: operations never looks): a later submission's replies differ only in some examples.
_TANH = ("        t = math.tanh(self.data)\n",
         "        x = self.data\n"
         "        e = math.exp(2 * x)\n"
         "        t = math.tanh(x) if abs(x) < 2.6 else (e - 1) / (e + 1)\n")


@pytest.mark.parametrize("sources", [
    # An engine's survey, dtype and methods are asked once per submission (asked_once):
    # asking a later submission an example's calls again must keep what its judge kept.
    ["engines/good.py", "engines/wild/lecture_tanh.py", ("engines/good.py", *_TANH)],
    # Layer classes: each class's interface is asked once per submission.
    ["layer_classes/correct/layers.py", "layer_classes/variants/names.py",
     "layer_classes/correct/layers.py"],
], ids=["engines", "layer-classes"])
def test_calls_asked_again_give_each_submission_its_result_alone(
        tmp_path: Path, sources: list[Any]) -> None:
    here = Path(__file__).parent
    paths = _copies(tmp_path, [(here / s[0], s[1], s[2]) if isinstance(s, tuple) else here / s
                               for s in sources])
    replays = Replays()
    batch = _graded_counting(paths, replays)
    # The third submission answers many of the first one's recorded calls with the same
    # bytes: those examples are not judged.
    assert replays.reasked > 0
    alone = _graded_counting(paths, None)
    # The same verdicts, and each submission answered as many calls as alone (each once).
    assert batch == alone
