"""Layer classes in the style of "Deep Learning from Scratch", graded through the public doors.

``tests/layer_classes/`` holds the fixtures (written for these tests): ``correct/`` (the book's
style, the later Affine that reshapes N-D input, a SoftmaxWithLoss for one-hot and integer
labels), ``variants/`` (learners' spellings and a typo), ``book/`` (a chapter folder importing
``common/`` after ``sys.path.append(os.pardir)``, with the book's Relu that writes into dout) and
``mistakes/`` (one mistake per file; ``EXPECT`` maps each item that must fail to
``(check, kind, words of its message, the diagnosis's mistake id)``).

Speed: one full grade of the correct file at the ci profile (no false alarm is the point);
everything else grades only the items concerned (``only=``) with few examples, in-process, except
the one test that goes through the isolated worker.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

import bpverify
from bpverify.cli import main
from bpverify.feedback.mistakes import IDEAS, MISTAKES
from bpverify.model import SubmissionResult

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent / "layer_classes"
MISTAKES_DIR = HERE / "mistakes"
#: The zoo's mistakes; ok_*.py and im2col_layers.py are the right classes they change.
ZOO = sorted(p for p in MISTAKES_DIR.glob("*.py")
             if not p.stem.startswith("ok_") and p.stem != "im2col_layers")
PROFILE = "ci"
#: Examples per check where the point is a verdict on a known mistake (seeded, so repeatable).
FEW = 8
LAYER_ITEMS = ["MulLayer", "AddLayer", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
               "TwoLayerNet (layers)"]
NET = "TwoLayerNet (layers)"
CHAPTER7 = ["Dropout", "BatchNormalization", "Convolution", "Pooling"]


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
    assert [i.name for i in result.items] == LAYER_ITEMS + CHAPTER7
    failed = {i.name: i.first_failure.message for i in result.items if i.first_failure}
    assert not failed
    assert all(c.status == "passed" and c.diagnosis is None
               for i in result.items for c in i.checks)
    # A chapter-5 file is complete: the chapter 6-7 classes are optional, out of the total.
    assert all(i.status == "not implemented" and not i.required for i in result.items[7:])
    assert result.score == result.max_score


def test_learners_spellings_and_a_typo_are_found_with_notes() -> None:
    result = bpverify.check_submission(HERE / "variants" / "names.py", profile=PROFILE,
                                       max_examples=FEW)
    assert result.rubric == "layer-classes"
    assert [i.name for i in result.items] == LAYER_ITEMS + CHAPTER7
    assert all(i.status == "passed" for i in result.items[:7]), [
        (i.name, i.first_failure.message) for i in result.items if i.first_failure]
    notes = " | ".join(result.notes)
    assert "class Sigmiod is a letter or two off, so it was graded as Sigmoid" in notes
    assert "Mullayer as MulLayer" in notes and "SoftMaxWithLoss as SoftmaxWithLoss" in notes
    assert "SoftmaxWithLoss.backward ignores its upstream gradient dout" in notes


def test_a_chapter_folder_imports_common_in_the_isolated_worker(tmp_path: Path) -> None:
    """The one test through the isolated worker: the book's chapter layout, every format."""
    out, junit, html, js = (tmp_path / n for n in ("gs.json", "junit.xml", "r.html", "r.json"))
    code = main(["grade", str(HERE / "book" / "ch05" / "layers.py"), "--profile", PROFILE,
                 "--examples", str(FEW), "--gradescope", str(out), "--junit", str(junit),
                 "--html", str(html), "--json", str(js)])
    assert code == 0
    result = SubmissionResult.from_dict(json.loads(js.read_text()))
    assert result.rubric == "layer-classes" and "in-process" not in result.sandbox
    # MulLayer and AddLayer live in the chapter's other file, layer_naive.py.
    assert [i.status for i in result.items] == (["not implemented"] * 2 + ["passed"] * 5
                                                + ["not implemented"] * 4)
    data = json.loads(out.read_text())
    tests = {t["name"].split(":")[0]: t for t in data["tests"]}
    relu = next(t for name, t in tests.items() if name.startswith("Relu"))
    # The book's Relu writes into dout: reported with the lecture's reason, no points lost.
    assert "modified its upstream gradient dout in place" in relu["output"]
    assert "The book's own Relu does this" in relu["output"]
    assert relu["score"] == relu["max_score"]
    hygiene = result.item("Relu").check("hygiene")
    assert hygiene.diagnosis is not None and hygiene.diagnosis.mistake == "mutates-input"
    for name in ("Sigmoid", "Affine", "SoftmaxWithLoss", NET):
        t = next(t for n, t in tests.items() if n.startswith(name))
        assert t["score"] == t["max_score"], t["output"]
    assert NET in html.read_text()
    assert "SoftmaxWithLoss" in junit.read_text()


@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_each_mistake_is_caught_by_its_item_and_check_with_its_diagnosis(path: Path) -> None:
    expect: dict[str, tuple[str, str, str, str]] = _literal(path, "EXPECT")
    only = list(expect) or None
    result = bpverify.check_submission(path, profile=PROFILE, rubric="layer-classes",
                                       only=only, max_examples=FEW)
    for item_name, (check_name, kind, words, mistake) in expect.items():
        item = result.item(item_name)
        check = item.check(check_name)
        assert check.status == "failed", (item_name, check_name, check.message)
        if kind:
            assert check.kind == kind, check.message
        assert words in check.message, check.message
        assert "not implemented" not in item.message
        assert mistake in MISTAKES and MISTAKES[mistake].idea in IDEAS
        assert check.diagnosis is not None, (item_name, check_name, check.message)
        assert check.diagnosis.mistake == mistake, (item_name, check.diagnosis.text)
        # Every failed check of the item is the same mistake, said the same way or not at all.
        others = {c.diagnosis.mistake for c in item.checks if c.diagnosis is not None}
        assert others == {mistake}, (item_name, others)
    collateral = [i.name for i in result.items if i.status == "failed" and i.name not in expect]
    assert not collateral
    note = _literal(path, "NOTE")
    if note:
        assert any(note in n for n in result.notes), result.notes


def test_the_zoo_covers_every_mistake_of_the_issue() -> None:
    seen = {m for p in ZOO for (_, _, _, m) in (_literal(p, "EXPECT") or {}).values()}
    assert seen >= {"relu-not-zeroed", "sigmoid-mask", "constant-for-input", "no-return",
                    "transposed", "not-summed-over-batch", "not-averaged", "misspelled-method",
                    "interface-differs", "misnamed-attribute", "missing-numpy-import",
                    "misplaced-method", "no-forward-return"}
    # Chapters 6 and 7: every mistake of the family's catalogue but a nan without exp (a wild
    # fixture's, test_chapter7_as_found_...), and the flipped filter, the scaling done twice and
    # the other paths left out of batchnorm's backward, whose rules have no fixture yet.
    from bpverify.families.layer_classes.chapter7 import MISTAKES7
    assert seen >= {m.id for m in MISTAKES7} - {"book-conv-flipped", "book-dropout-scaled-twice",
                                                "book-bn-no-var-path", "book-bn-stats-constant",
                                                "book-not-finite"}


def test_a_misspelled_method_fails_its_item_with_that_message_only() -> None:
    result = bpverify.check_submission(MISTAKES_DIR / "mul_typo.py", profile=PROFILE,
                                       rubric="layer-classes", only=["MulLayer"])
    item = result.item("MulLayer")
    assert item.status == "failed"
    assert item.first_failure is not None and item.first_failure.name == "interface"
    assert [c.status for c in item.checks if c.name != "interface"] == ["skipped"] * 5
    assert [c.diagnosis for c in item.checks if c.name != "interface"] == [None] * 5
    assert result.load_error == ""


# --- the other doors -------------------------------------------------------------------------


def test_every_output_names_the_guilty_class_and_the_diagnosis(tmp_path: Path) -> None:
    sub = MISTAKES_DIR / "affine_db_not_summed.py"
    gs, junit, html, js = (tmp_path / n for n in ("gs.json", "junit.xml", "r.html", "r.json"))
    code = main(["grade", str(sub), "--rubric", "layer-classes", "--in-process", "--examples",
                 str(FEW), "--only", "Affine", "--only", NET, "--fail-under", "100",
                 "--gradescope", str(gs), "--junit", str(junit), "--html", str(html),
                 "--json", str(js)])
    assert code == 1
    result = SubmissionResult.from_dict(json.loads(js.read_text()))
    net = result.item(NET).check("gradients")
    assert net.diagnosis is not None and net.diagnosis.mistake == "not-summed-over-batch"
    assert net.diagnosis.saw.startswith("Affine2.backward (class Affine)")
    assert net.facts.where == "Affine2.backward" and net.facts.value == "db"
    page = html.read_text()
    assert "Guilty: Affine2.backward (class Affine)" in page
    assert "Affine2.backward (class Affine): db has shape" in page
    text = "\n".join(t.get("output", "") for t in json.loads(gs.read_text())["tests"])
    assert "diagnosis: Affine2.backward (class Affine): db has shape" in text
    assert "Guilty: Affine2.backward (class Affine)" in junit.read_text()


def test_batch_grading_two_submissions_in_parallel(tmp_path: Path) -> None:
    good = HERE / "correct" / "layers.py"
    bad = MISTAKES_DIR / "relu_no_zero.py"
    out = tmp_path / "batch"
    code = main(["grade", str(good), str(bad), "--rubric", "layer-classes", "--out", str(out),
                 "--jobs", "2", "--in-process", "--examples", "5", "--only", "Relu",
                 "--fail-under", "100"])
    assert code == 1  # one of them scores below 100%
    results = {p.parent.name: SubmissionResult.from_dict(json.loads(p.read_text()))
               for p in out.glob("*/bpverify.json")}
    assert set(results) == {good.stem, bad.stem}
    assert results[good.stem].passed
    relu = results[bad.stem].item("Relu").check("forward")
    assert relu.diagnosis is not None and relu.diagnosis.mistake == "relu-not-zeroed"
    # The class summary says the mistake by its catalogue phrase.
    assert "never zeroed the negative inputs in Relu.forward" in (out / "summary.html").read_text()


def test_the_pytest_plugin_grades_layer_classes(pytester: pytest.Pytester) -> None:
    # Copied under a neutral name: -k also matches the submission's file name.
    for name in ("sigmoid_mask.py", "ok_layers.py"):
        (pytester.path / ("layers.py" if name == "sigmoid_mask.py" else name)).write_text(
            (MISTAKES_DIR / name).read_text())
    result = pytester.runpytest_inprocess(
        "--bpverify-submission", str(pytester.path / "layers.py"), "--bpverify-rubric",
        "layer-classes", "--bpverify-examples", "5", "-k", "Sigmoid", "-p", "no:cacheprovider",
    )
    outcomes = result.parseoutcomes()
    # Sigmoid's backward, numerical and stability fail; interface, forward and hygiene pass;
    # instances is not judged (backward is wrong even for one instance).
    assert (outcomes["failed"], outcomes["passed"], outcomes["skipped"]) == (3, 3, 1), outcomes
    result.stdout.fnmatch_lines([
        "bpverify: submission * · rubric layer-classes · seed 0 · profile *",
        "*Sigmoid · backward: Sigmoid.backward(dout): dx differs*",
    ])


def test_chapter_5_forms_lose_no_points() -> None:
    """An Affine without a reshape, a one-hot-only SoftmaxWithLoss and static methods (seen in
    learners' repositories): the forms chapter 5 asks for get full marks; N-D input and integer
    labels are judged only where a class handles them."""
    result = bpverify.check_submission(HERE / "wild" / "chapter5" / "layers.py", profile=PROFILE,
                                       only=["AddLayer", "Affine", "SoftmaxWithLoss"])
    assert all(i.status == "passed" for i in result.items), [
        (i.name, i.first_failure.message) for i in result.items if i.first_failure]
    assert result.score == result.max_score > 0
    checks = {(i.name, c.name): c for i in result.items for c in i.checks}
    assert checks["AddLayer", "interface"].status == "passed"
    for key, words in ((("Affine", "nd input"), "takes 2-D input only"),
                       (("SoftmaxWithLoss", "integer labels"), "one-hot labels only")):
        assert checks[key].status == "skipped" and words in checks[key].message
        assert checks[key].diagnosis is None
    full = bpverify.check_submission(HERE / "correct" / "layers.py", profile=PROFILE,
                                     max_examples=FEW, only=["Affine", "SoftmaxWithLoss"])
    judged = {(i.name, c.name): c.status for i in full.items for c in i.checks}
    assert judged["Affine", "nd input"] == judged["SoftmaxWithLoss", "integer labels"] == "passed"
    # A Sigmoid for arrays only (it indexes x with a mask): a layer is given arrays.
    arrays = bpverify.check_submission(HERE / "wild" / "chapter5" / "sigmoid_arrays.py",
                                       profile=PROFILE, only=["Sigmoid"], rubric="layer-classes")
    assert arrays.items[0].status == "passed", arrays.items[0].first_failure
    # The second volume's Affine keeps its gradients in self.grads = [dW, db].
    volume2 = bpverify.check_submission(HERE / "wild" / "volume2" / "layers.py", profile=PROFILE,
                                        only=["Affine"], rubric="layer-classes")
    assert volume2.items[0].status == "passed", volume2.items[0].first_failure
    # A cross-entropy with 1e-4 inside the log where the book has 1e-7: right, loses nothing.
    delta = bpverify.check_submission(HERE / "wild" / "delta" / "layers.py", profile=PROFILE,
                                      only=["SoftmaxWithLoss"])
    assert delta.items[0].status == "passed", delta.items[0].first_failure
    assert delta.score == delta.max_score


def test_imports_resolve_as_the_learner_ran_them_with_stand_ins_for_unused_libraries(
        tmp_path: Path) -> None:
    """A helper module importing a library grading never uses (PIL), and imports written from
    the repository's root: both load in the isolated worker, and the notes say how."""
    wild, js = HERE / "wild", tmp_path / "r.json"

    def grade(path: Path, item: str) -> SubmissionResult:
        assert main(["grade", str(path), "--profile", PROFILE, "--examples", str(FEW),
                     "--only", item, "--rubric", "layer-classes", "--json", str(js)]) == 0
        result = SubmissionResult.from_dict(json.loads(js.read_text()))
        assert "in-process" not in result.sandbox
        assert result.items[0].status == "passed", result.items[0].message
        return result

    notes = grade(wild / "picture_helper" / "sigmoid.py", "Sigmoid").notes
    assert any("func.py imports PIL (not installed where bpverify grades): a stand-in took "
               "its place" in n for n in notes)
    root = wild / "repo_root"
    notes = grade(root / "src" / "ch05" / "softmax_loss.py", "SoftmaxWithLoss").notes
    assert f"imports of src resolve from {root}: loaded as if run from there" in notes
    # sys.path.append("../03 helpers"), relative to the folder the learner ran from.
    grade(wild / "sys_path" / "05 backprop" / "layers.py", "Sigmoid")
    # common/layers.py doing `from .functions import *`, graded as a lone file.
    notes = grade(wild / "relative" / "common" / "layers.py", "Sigmoid").notes
    assert any("loaded as a module of common/" in n for n in notes)


def test_an_example_that_cannot_tell_two_mistakes_apart_says_so() -> None:
    """Equal scores give a loss summed over the batch and a softmax normalized over the whole
    batch the same value: the net's diagnosis names both instead of guessing one."""
    result = bpverify.check_submission(MISTAKES_DIR / "softmax_whole_batch.py", profile=PROFILE,
                                       rubric="layer-classes", only=[NET], max_examples=FEW)
    check = result.item(NET).check("loss")
    assert check.status == "failed" and check.diagnosis is not None
    assert "this example cannot tell the two apart" in check.diagnosis.text


# --- chapters 6 and 7 ----------------------------------------------------------------------


def test_chapter7_classes_written_otherwise_than_the_book_pass() -> None:
    """Inverted dropout, a float32 BatchNorm with eps = 1e-5 and a flag called is_training,
    a convolution through sliding windows, a pooling that splits dout among tied maxima (all
    under other names), and im2col-based Convolution and Pooling."""
    result = bpverify.check_submission(HERE / "correct" / "chapter7_variants.py",
                                       profile=PROFILE, rubric="layer-classes", only=CHAPTER7,
                                       max_examples=FEW)
    assert all(i.status == "passed" for i in result.items), [
        (i.name, i.first_failure.message) for i in result.items if i.first_failure]
    assert result.score == result.max_score > 0
    notes = " | ".join(result.notes)
    assert "Conv as Convolution" in notes and "MaxPooling as Pooling" in notes
    im2col = bpverify.check_submission(MISTAKES_DIR / "im2col_layers.py", profile=PROFILE,
                                       rubric="layer-classes", only=["Convolution", "Pooling"],
                                       max_examples=FEW)
    assert all(i.status == "passed" for i in im2col.items), [
        (i.name, i.first_failure.message) for i in im2col.items if i.first_failure]


def test_the_reference_book_layers_pass_every_item(tmp_path: Path) -> None:
    js = tmp_path / "r.json"
    code = main(["grade", str(Path(__file__).resolve().parents[1] / "reference" /
                             "book_layers.py"), "--rubric", "layer-classes", "--in-process",
                 "--profile", PROFILE, "--examples", str(FEW), "--json", str(js),
                 *(a for n in [*CHAPTER7, "Affine"] for a in ("--only", n))])
    result = SubmissionResult.from_dict(json.loads(js.read_text()))
    assert code == 0 and [i.name for i in result.items] == ["Affine", *CHAPTER7]
    assert all(i.status == "passed" for i in result.items), [
        (i.name, i.first_failure.message) for i in result.items if i.first_failure]


def test_chapter7_as_found_a_placeholder_is_not_written_and_swapped_sides_fail() -> None:
    """Patterns of the field test: a class left empty for later is "not implemented" (an
    optional item: out of the total), not a mistake; an im2col that unpacks (N, C, W, H)
    fails on the grader's non-square inputs."""
    wild = HERE / "wild" / "chapter7"
    result = bpverify.check_submission(wild / "placeholder.py", profile=PROFILE,
                                       rubric="layer-classes", only=["Dropout",
                                                                     "BatchNormalization"],
                                       max_examples=FEW)
    bn, dropout = result.item("BatchNormalization"), result.item("Dropout")
    assert dropout.status == "passed", dropout.first_failure
    assert bn.status == "not implemented" and not bn.required
    assert "not written yet" in bn.check("interface").message
    assert result.score == result.max_score > 0
    swapped = bpverify.check_submission(wild / "swapped_sides.py", profile=PROFILE,
                                        rubric="layer-classes", only=["Convolution"],
                                        max_examples=FEW)
    assert swapped.items[0].status == "failed"
    assert swapped.items[0].check("forward").status == "failed"


def test_chapter7_as_found_spatial_batchnorm_learners_names_and_a_nan_without_exp() -> None:
    """Field-test patterns: eps = 1e-7 read from the forward, a batchnorm normalizing 4-D input
    per channel, a backward dividing by var where forward divides by var + eps (only the
    low-variance check, with eps's diagnosis), dweight and dbias; a pooling whose col2im
    divides by a count that is 0 gives nan: said as a division by zero, never an internal
    error or an overflow."""
    wild = HERE / "wild" / "chapter7"
    result = bpverify.check_submission(wild / "spatial_named.py", profile=PROFILE,
                                       rubric="layer-classes",
                                       only=["BatchNormalization", "Convolution"],
                                       max_examples=FEW)
    bn, conv = result.item("BatchNormalization"), result.item("Convolution")
    assert conv.status == "passed", conv.first_failure
    failed = [c for c in bn.checks if c.status == "failed"]
    assert [c.name for c in failed] == ["low variance"], [(c.name, c.message) for c in failed]
    assert failed[0].diagnosis is not None and failed[0].diagnosis.mistake == "book-bn-eps"
    assert bn.check("4-d input").status == "passed"
    pooling = bpverify.check_submission(wild / "col2im_count.py", profile=PROFILE,
                                        rubric="layer-classes", only=["Pooling"],
                                        max_examples=FEW).items[0]
    assert pooling.status == "failed"
    assert not [c for c in pooling.checks if c.kind == "internal-error"]
    nan = [c for c in pooling.checks if c.kind == "not-finite"]
    assert nan and all(c.diagnosis is not None and c.diagnosis.mistake == "book-not-finite"
                       for c in nan)
