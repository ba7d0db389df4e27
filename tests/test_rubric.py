"""Rubrics: points with partial credit per check, visibility, name lookup, clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import bpverify
from bpverify import registry
from bpverify.grading.rubric import RubricError, load_rubric

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

INPLACE_RELU = """
from reference import *  # noqa: F403
import numpy as np


def relu_backward(dout, cache):
    x = cache
    dout[x <= 0] = 0   # the classic in-place mistake
    return dout
"""


def test_default_rubric_covers_the_contract_and_scores_the_reference(
    reference_path: Path
) -> None:
    rubric = load_rubric("default")
    # The core contract, and what each family adds to it (its rubric-default.toml).
    added = {name for path in registry.rubric_fragments("default")
             for name in tomllib.loads(path.read_text())["items"]}
    assert set(rubric.item_names) == {i.name for i in bpverify.ITEMS} | added
    result = bpverify.check_submission(reference_path, profile="ci", max_examples=3,
                                       only=["MultiplyGate", "relu_backward"])
    assert result.rubric == "default"
    assert [(i.score, i.max_score) for i in result.items] == [(4.0, 4.0), (4.0, 4.0)]
    assert result.score == result.max_score == 8.0


def test_in_place_dout_costs_the_hygiene_share(tmp_path: Path) -> None:
    sub = tmp_path / "inplace.py"
    sub.write_text(INPLACE_RELU)
    (item,) = bpverify.check_submission(sub, only=["relu_backward"], max_examples=10).items
    assert item.check("hygiene").kind == "mutates-input"
    assert item.check("backward").passed and item.check("numerical").passed
    # default weights: backward 3, numerical 2, hygiene 1 -> 5/6 of 4 points
    assert item.score == pytest.approx(4 * 5 / 6)

    free = tmp_path / "lenient.toml"
    free.write_text('[items.relu_backward]\npoints = 10\nweights = { hygiene = 0 }\n'
                    'visibility = "hidden"\n')
    (item,) = bpverify.check_submission(sub, rubric=free, max_examples=10).items
    assert (item.score, item.max_score, item.visibility) == (10.0, 10.0, "hidden")


def test_names_and_modules_are_looked_up_as_the_rubric_says(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "gates.py").write_text(
        "class MulGate:\n"
        "    def forward(self, x, y):\n        self.x, self.y = x, y\n        return x * y\n"
        "    def backward(self, dz):\n        return self.y * dz, self.x * dz\n"
    )
    (pkg / "other.py").write_text("MultiplyGate = 3\n")
    rubric = tmp_path / "r.toml"
    rubric.write_text('[items.MultiplyGate]\npoints = 2\nnames = ["MultiplyGate", "MulGate"]\n'
                      'module = "gates"\n')
    (item,) = bpverify.check_submission(pkg, rubric=rubric, max_examples=5).items
    assert item.status == "passed" and item.score == 2.0


def test_a_name_that_breaks_the_protocol_is_explained(tmp_path: Path) -> None:
    sub = tmp_path / "s.py"
    sub.write_text("def MultiplyGate(x, y):\n    return x * y\n")
    result = bpverify.check_submission(sub, only=["MultiplyGate"])
    assert result.items[0].status == "not implemented"
    assert "MultiplyGate is a function; expected a class with forward and backward" \
        in result.load_error


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = \"x\"\n", "no [items.NAME] tables"),
        ("points = 3\n", "unknown top-level key(s) ['points']"),
        ("[items.Nope]\npoints = 1\n", "items.'Nope': no such item; expected one of"),
        ("[items.AddGate]\npoints = -1\n", "items.'AddGate'.points is -1; expected a number"),
        ('[items.AddGate]\nvisibility = "secret"\n',
         "visibility is 'secret'; expected one of visible, hidden"),
        ('layout = "zip"\n[items.AddGate]\n', "layout is 'zip'; expected one of python, cs231n"),
        ("[items.AddGate]\npoints = [\n", "not valid TOML"),
        ("[items.AddGate]\ncolour = 1\n", "unknown key(s) ['colour']"),
        ('[items.AddGate]\nrequired = "no"\n',
         "items.'AddGate'.required is 'no'; expected true or false"),
    ],
)
def test_bad_rubrics_say_what_and_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_rubric_name() -> None:
    with pytest.raises(RubricError, match=r"not a built-in rubric; expected a \.toml file or "
                       r"one of default, cs231n"):
        load_rubric("nope")


OPTIONAL_NET = """
name = "gates-and-an-optional-net"
[items.MultiplyGate]
points = 4
[items.AddGate]
points = 2
[items.TwoLayerNet]
points = 10
required = false
"""


def test_an_optional_item_costs_nothing_when_absent_and_counts_when_present(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Any rubric may say required = false: the gates file has no TwoLayerNet, so the net is
    # out of the total and the file gets full marks; a missing required item still costs.
    from bpverify.cli import main

    rubric = tmp_path / "r.toml"
    rubric.write_text(OPTIONAL_NET)
    sub = tmp_path / "gates.py"
    sub.write_text("from reference import AddGate, MultiplyGate  # noqa: F401\n")
    assert main(["grade", str(sub), "--rubric", str(rubric), "--profile", "ci",
                 "--in-process", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    result = bpverify.SubmissionResult.from_dict(
        __import__("json").loads((tmp_path / "r.json").read_text()))
    assert (result.score, result.max_score) == (6.0, 6.0)
    net = result.item("TwoLayerNet")
    assert (net.status, net.required, net.max_score) == ("not implemented", False, 0.0)
    assert "2/2 items passed, 6/6 points" in out
    assert "missing" not in out and "to fix" not in out

    rubric.write_text(OPTIONAL_NET.replace("required = false\n", ""))
    assert main(["grade", str(sub), "--rubric", str(rubric), "--profile", "ci",
                 "--in-process"]) == 0
    out = capsys.readouterr().out
    assert "2/3 items passed · 1 missing, 6/16 points" in out
