"""CS231n's normalization layers and dropout (families normalization/ and dropout/), graded
through the public doors: check_submission, the CLI and a CS231n assignment folder.

The mistakes and correct variants live in the zoo (tests/zoo/mistakes/batchnorm_*.py, ...,
tests/zoo/correct/norm_*.py, dropout_*.py), which tests/test_zoo.py grades; here: the reference
passes every item, the CLI grades one item in the isolated worker, dropout's p is read from the
docstring, else from the rubric's option, and said in the notes, and an assignment folder's
cs231n/layers.py is graded under the cs231n rubric.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import bpverify
from bpverify.cli import main

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
NORM_ITEMS = [
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt", "layernorm_forward",
    "layernorm_backward", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
]
DROPOUT_ITEMS = ["dropout_forward", "dropout_backward"]
PROFILE = "ci"

#: Inverted dropout with p the probability of *dropping* a unit, and no docstring to say so.
DROP_P = '''
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    np.random.seed(dropout_param.get("seed", 0))
    mask = None
    if mode == "train":
        mask = (np.random.rand(*x.shape) >= p) / (1 - p)
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask if dropout_param["mode"] == "train" else dout
'''


@pytest.mark.parametrize("item", NORM_ITEMS + DROPOUT_ITEMS)
def test_reference_passes_every_check(item: str) -> None:
    result = bpverify.check_submission(REFERENCE, profile=PROFILE, only=[item])
    (got,) = result.items
    failures = [f"{c.name}: {c.status} {c.message[:300]}" for c in got.checks
                if c.status != "passed"]
    assert got.status == "passed" and not failures, failures


def test_items_are_in_the_default_and_cs231n_rubrics() -> None:
    from bpverify.grading.rubric import load_rubric

    for name in ("default", "cs231n"):
        names = load_rubric(name).item_names
        assert set(NORM_ITEMS + DROPOUT_ITEMS) <= set(names), name
        assert load_rubric(name).rule("batchnorm_backward").points > 1


def test_cli_grades_batchnorm_backward_in_the_isolated_worker(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = main(["grade", "reference", "--only", "batchnorm_backward", "--profile", PROFILE,
                 "--examples", "5", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    (item,) = data["items"]
    assert item["name"] == "batchnorm_backward" and item["status"] == "passed"
    assert [c["name"] for c in item["checks"]] == ["backward", "numerical", "hygiene"]


def test_dropout_p_is_read_from_the_rubric_option_without_a_docstring(tmp_path: Path) -> None:
    sub = tmp_path / "dropout_drop_p.py"
    sub.write_text(DROP_P)
    as_keep = bpverify.check_submission(sub, profile=PROFILE, max_examples=5,
                                        only=DROPOUT_ITEMS)
    assert any("p is judged as the probability of keeping a unit (from the default" in n
               for n in as_keep.notes), as_keep.notes
    train = as_keep.item("dropout_forward").check("train mode")
    assert train.status == "failed"
    assert train.diagnosis is not None and train.diagnosis.mistake == "dropout-p-meaning"
    rubric = tmp_path / "drop.toml"
    rubric.write_text(textwrap.dedent('''
        name = "dropout-2016"
        description = "2016 starters: p is the probability of dropping a unit"
        [options]
        dropout_p = "drop"
        [items.dropout_forward]
        points = 1
        [items.dropout_backward]
        points = 1
    '''))
    as_drop = bpverify.check_submission(sub, profile=PROFILE, max_examples=5, rubric=rubric)
    assert any("p is judged as the probability of dropping a unit (from the rubric's option "
               "dropout_p)" in n for n in as_drop.notes), as_drop.notes
    assert as_drop.passed, [(i.name, i.first_failure.message if i.first_failure else "")
                            for i in as_drop.items]


def test_an_assignment_folder_is_graded_under_the_cs231n_rubric(tmp_path: Path) -> None:
    layers = tmp_path / "assignment2" / "cs231n"
    layers.mkdir(parents=True)
    (layers / "__init__.py").write_text("")
    dropout = (REFERENCE / "dropout.py").read_text().split('"""', 2)[2]
    source = (REFERENCE / "normalization.py").read_text() + "\n\n" + dropout.replace(
        "from __future__ import annotations\n", "")
    (layers / "layers.py").write_text(source)
    result = bpverify.check_submission(tmp_path / "assignment2", rubric="cs231n",
                                       profile=PROFILE, max_examples=4,
                                       only=["batchnorm_forward", "spatial_groupnorm_backward",
                                             "dropout_forward"])
    assert [i.status for i in result.items] == ["passed"] * 3, [
        (i.name, i.message, i.first_failure.message if i.first_failure else "")
        for i in result.items]
    assert any("dropout: p is judged as the probability of keeping a unit (from the "
               "docstring of dropout_forward)" in n for n in result.notes), result.notes
