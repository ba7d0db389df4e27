"""Layer classes in the style of "Deep Learning from Scratch", graded through the public doors.

``tests/layer_classes/`` holds the fixtures (written for these tests): ``correct/`` (the book's
style, the later Affine that reshapes N-D input, a SoftmaxWithLoss for one-hot and integer
labels), ``variants/`` (learners' spellings and a typo), ``book/`` (a chapter folder importing
``common/`` after ``sys.path.append(os.pardir)``, with the book's Relu that writes into dout) and
``mistakes/`` (one mistake per file; ``EXPECT`` maps each item that must fail to
``(check, kind, words of its message)``).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

import bpverify
from bpverify.cli import main

HERE = Path(__file__).resolve().parent / "layer_classes"
MISTAKES = sorted(p for p in (HERE / "mistakes").glob("*.py") if p.stem != "ok_layers")
PROFILE = "ci"
LAYER_ITEMS = ["MulLayer", "AddLayer", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
               "TwoLayerNet (layers)"]


def _literal(path: Path, name: str) -> Any:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def test_correct_layers_pass_every_check_and_the_rubric_is_chosen_by_itself() -> None:
    result = bpverify.check_submission(HERE / "correct" / "layers.py", profile=PROFILE)
    assert result.rubric == "layer-classes"
    assert any("layer classes in the style of Deep Learning from Scratch" in n
               for n in result.notes)
    assert [i.name for i in result.items] == LAYER_ITEMS
    failed = {i.name: i.first_failure.message for i in result.items if i.first_failure}
    assert not failed
    assert all(c.status == "passed" for i in result.items for c in i.checks)
    assert result.score == result.max_score


def test_learners_spellings_and_a_typo_are_found_with_notes() -> None:
    result = bpverify.check_submission(HERE / "variants" / "names.py", profile=PROFILE)
    assert result.rubric == "layer-classes"
    assert all(i.status == "passed" for i in result.items), [
        (i.name, i.first_failure.message) for i in result.items if i.first_failure]
    notes = " | ".join(result.notes)
    assert "class Sigmiod is a letter or two off, so it was graded as Sigmoid" in notes
    assert "Mullayer as MulLayer" in notes and "SoftMaxWithLoss as SoftmaxWithLoss" in notes
    assert "SoftmaxWithLoss.backward ignores its upstream gradient dout" in notes


def test_a_chapter_folder_imports_common_in_the_isolated_worker(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    junit = tmp_path / "junit.xml"
    html = tmp_path / "report.html"
    code = main(["grade", str(HERE / "book" / "ch05" / "layers.py"), "--profile", PROFILE,
                 "--gradescope", str(out), "--junit", str(junit), "--html", str(html)])
    assert code == 0
    data = json.loads(out.read_text())
    tests = {t["name"].split(":")[0]: t for t in data["tests"]}
    relu = next(t for name, t in tests.items() if name.startswith("Relu"))
    # The book's Relu writes into dout: reported with the lecture's reason, no points lost.
    assert "modified its upstream gradient dout in place" in relu["output"]
    assert "The book's own Relu does this" in relu["output"]
    assert relu["score"] == relu["max_score"]
    for name in ("Sigmoid", "Affine", "SoftmaxWithLoss", "TwoLayerNet (layers)"):
        t = next(t for n, t in tests.items() if n.startswith(name))
        assert t["score"] == t["max_score"], t["output"]
    assert "TwoLayerNet (layers)" in html.read_text()
    assert "SoftmaxWithLoss" in junit.read_text()


@pytest.mark.parametrize("path", MISTAKES, ids=[p.stem for p in MISTAKES])
def test_each_mistake_is_caught_by_its_item_and_check(path: Path) -> None:
    expect: dict[str, tuple[str, str, str]] = _literal(path, "EXPECT")
    only = list(expect) or None
    result = bpverify.check_submission(path, profile=PROFILE, rubric="layer-classes",
                                       only=only)
    for item_name, (check_name, kind, words) in expect.items():
        item = result.item(item_name)
        check = item.check(check_name)
        assert check.status == "failed", (item_name, check_name, check.message)
        if kind:
            assert check.kind == kind, check.message
        assert words in check.message, check.message
        assert "not implemented" not in item.message
    collateral = [i.name for i in result.items if i.status == "failed" and i.name not in expect]
    assert not collateral
    note = _literal(path, "NOTE")
    if note:
        assert any(note in n for n in result.notes), result.notes


def test_a_misspelled_method_fails_its_item_with_that_message_only() -> None:
    result = bpverify.check_submission(HERE / "mistakes" / "mul_typo.py", profile=PROFILE,
                                       rubric="layer-classes", only=["MulLayer"])
    item = result.item("MulLayer")
    assert item.status == "failed"
    assert item.first_failure is not None and item.first_failure.name == "interface"
    assert [c.status for c in item.checks if c.name != "interface"] == ["skipped"] * 5
    assert result.load_error == ""
