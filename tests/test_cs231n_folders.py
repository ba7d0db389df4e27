"""Whole CS231n assignment folders of every starter generation, graded as handed in.

Each folder under ``tests/cs231n_folders/`` states in its README.md the right verdict of every
item graded from its modules, and why: ``passed`` (full points), ``failed`` or ``not
implemented``, with the words the output must say (the named cause).  The items of a module the
folder lacks (another assignment's) must be "not implemented".  The folders are graded through
the command line, the door an instructor uses, and every item's verdict is compared with the
stated one.

The starter generations, read from the starters' own files (their layers.py, fc_net.py, cnn.py,
optim.py, layer_utils.py, rnn_layers.py and classifiers/rnn.py; years whose files and
signatures match are one generation), and the folders written in each one's layout:

Assignment 2:

- 2016: Python 2 (print statements, two-space indents), absolute imports; layers.py without
  layer norm or group norm, dropout's docstring "We drop each neuron output with probability
  p"; ``FullyConnectedNet(..., dropout=0, use_batchnorm=False)``; ``rmsprop(x, dx)`` and
  ``adam(x, dx)``. Complete: 2016_assignment2_correct (also 2016_assignment2_py2_fc_net).
- 2017: as 2016 in Python 3 (``from builtins import range``), Adam's default ``t = 1``.
  Complete: 2017_assignment2_bn_no_mean_path_pool_whole_window.
- 2018-2020: layer norm and spatial group norm (gamma of shape ``(C,)`` in the docstring),
  dropout's p the keep probability, ``FullyConnectedNet(..., dropout=1, normalization=None)``,
  ``rmsprop(w, dw)``, ``adam(w, dw)`` with ``t = 0``; 2020 imports relatively. Complete:
  2018_assignment2_correct_inplace_relu (also 2019_..., 2020_...).
- 2021-2024: TwoLayerNet moves to assignment 1, ``FullyConnectedNet(...,
  dropout_keep_ratio=1, normalization=None)``, group norm's gamma ``(1, C, 1, 1)``, relative
  imports. Complete: 2023_assignment2_correct_keywords (also 2024_...).

Assignment 3 (rnn_layers.py's signatures are the same in every year):

- 2016: Python 2, layers.py beside rnn_layers.py: 2016_assignment3_py2_xrange.
- 2017-2020: ``from builtins import range``, layers.py beside rnn_layers.py, absolute imports
  (relative in 2020): 2017_assignment3_lstm_gates_ifgo.
- 2021-2024: no layers.py, rnn_layers.py holds affine_forward and affine_backward itself,
  classifiers/rnn.py imports ``from ..rnn_layers import *``:
  2024_assignment3_embedding_assigned_rnn_dwx_overwritten (and 2021_assignment3_correct,
  with a layers.py of its own).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bpverify.cli import main
from bpverify.model import SubmissionResult

FOLDERS = Path(__file__).parent / "cs231n_folders"
ROW = re.compile(r"^\| (\w+) \| (passed|failed|not implemented) \| ([^|]*) \| ([^|]*) \|$")


def _numpy_removed_newshape() -> bool:
    """Whether ``np.reshape(..., newshape=...)`` raises here: deprecated in numpy 2.1 and
    removed later, so on an older numpy (the newest for Python 3.10 is 2.2) it still works."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            np.reshape(np.zeros(1), newshape=(1,))
    except TypeError:
        return True
    return False


def stated_verdicts(folder: Path) -> dict[str, tuple[str, str]]:
    """item -> (verdict, words the output must say), from the folder's README.md.

    An item stated to fail for calling ``newshape=`` is right, and passes, on a numpy that
    still has it.
    """
    rows = [ROW.match(line) for line in (folder / "README.md").read_text().splitlines()]
    stated = {m.group(1): (m.group(2), m.group(3).strip()) for m in rows if m}
    if not _numpy_removed_newshape():
        stated = {k: ("passed", "") if "newshape=" in words else (verdict, words)
                  for k, (verdict, words) in stated.items()}
    return stated


def all_folders() -> list[Path]:
    return sorted(p for p in FOLDERS.iterdir() if (p / "README.md").is_file())


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SubmissionResult]:
    out = tmp_path_factory.mktemp("graded")
    code = main(["grade", *map(str, all_folders()), "--rubric", "cs231n", "--examples", "4",
                 "--in-process", "--jobs", "1", "--out", str(out), "--json", "result.json"])
    assert code == 0
    return {p.name: SubmissionResult.from_dict(json.loads((out / p.name / "result.json")
                                                          .read_text()))
            for p in all_folders()}


def said(result: SubmissionResult, item: str) -> str:
    """Everything the output says about one item (its message, its checks' and their
    diagnoses)."""
    found = next(i for i in result.items if i.name == item)
    return "\n".join([found.message, *(c.message for c in found.checks),
                      *(c.diagnosis.text for c in found.checks if c.diagnosis is not None)])


@pytest.mark.parametrize("folder", all_folders(), ids=lambda p: p.name)
def test_every_item_gets_the_stated_verdict(folder: Path,
                                            graded: dict[str, SubmissionResult]) -> None:
    result = graded[folder.name]
    stated = stated_verdicts(folder)
    assert set(stated) <= {i.name for i in result.items}, "README lists graded items only"
    # An item the README leaves out belongs to a module the folder does not have (another
    # assignment's: an assignment 1 folder has no rnn_layers.py): it is not implemented.
    left_out = [i.name for i in result.items if i.name not in stated]
    assert all(result.item(n).status == "not implemented" for n in left_out), left_out
    result = replace(result, items=tuple(i for i in result.items if i.name in stated))
    wrong = []
    for item in result.items:
        verdict, words = stated[item.name]
        ok = item.status == verdict and (verdict != "passed" or item.score == item.max_score)
        if words and words not in said(result, item.name):
            ok = False
        if not ok:
            wrong.append(f"{item.name}: stated {verdict} saying {words!r}; got {item.status} "
                         f"{item.score}/{item.max_score}: {said(result, item.name)[:600]}")
    assert not wrong, "\n".join(wrong)
    assert not any(c.kind == "internal-error" for i in result.items for c in i.checks)


def test_stand_ins_are_reported(graded: dict[str, SubmissionResult]) -> None:
    notes = "\n".join(graded["2017_assignment1_correct"].notes)
    assert "neural_net.py imports matplotlib" in notes and "stand-in" in notes
    assert "imports past" in notes and "Python 2 compatibility shim" in notes
    notes = "\n".join(graded["2016_assignment2_correct"].notes)
    assert "cs231n/fast_layers.py is not graded and did not import (fast_layers.py is Python 2 " \
           "(a print statement on line" in notes


def test_skipped_and_advisory_checks_cost_nothing(graded: dict[str, SubmissionResult]) -> None:
    relu = next(i for i in graded["2018_assignment2_correct_inplace_relu"].items
                if i.name == "relu_backward")
    assert relu.check("hygiene").status == "failed"
    assert relu.status == "passed" and relu.score == relu.max_score
    assert "advisory, costs no points under the cs231n rubric: hygiene" in relu.message


def test_dropout_p_is_read_as_each_generation_wrote_it(graded: dict[str, SubmissionResult]
                                                      ) -> None:
    """The 2017 starter's docstring says p drops a unit; a folder without one is read as the
    2018-2024 starters' keep probability."""
    notes = "\n".join(graded["2017_assignment2_bn_no_mean_path_pool_whole_window"].notes)
    assert "probability of dropping a unit (from the docstring of dropout_forward)" in notes
    notes = "\n".join(graded["2023_assignment2_correct_keywords"].notes)
    assert "probability of keeping a unit" in notes
