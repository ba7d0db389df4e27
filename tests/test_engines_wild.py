"""Autograd engines as found in the wild (issue 21): each pattern of the field test, with a
small engine of our own under tests/engines/wild/, gets the right verdict."""
from __future__ import annotations

import json
from pathlib import Path

from bpverify import check_submission
from bpverify.cli import main
from bpverify.model import SubmissionResult

WILD = Path(__file__).parent / "engines" / "wild"


def _failures(result) -> list[tuple[str, str]]:
    return [(i.name, i.first_failure.message if i.first_failure else i.message)
            for i in result.items if i.status == "failed"]


def test_a_float32_engine_is_judged_in_its_own_precision() -> None:
    """float32 numpy values and gradients, closures that use out.grad.ndim, a graph freed after
    backward(): every item passes, and the notes say float32 was the precision judged in."""
    result = check_submission(WILD / "float32_tensor.py", profile="ci", max_examples=10)
    assert result.rubric == "autograd"
    assert any("kept in float32: judged in float32's precision" in n for n in result.notes), \
        result.notes
    graded = {i.name for i in result.items if i.status != "not implemented"}
    assert {"Value +", "Value /", "Value r-", "Value tanh", "Value fan-out",
            "Value deep chain"} <= graded
    assert _failures(result) == []


def test_a_float32_engine_with_a_wrong_rule_still_fails(tmp_path: Path) -> None:
    """float32's tolerance is no licence: a tanh whose local gradient is 1 - t (not 1 - t**2)
    fails its item."""
    engine = tmp_path / "engine.py"
    engine.write_text((WILD / "float32_tensor.py").read_text().replace(
        "(1 - t ** 2) * out.grad", "(1 - t) * out.grad"))
    result = check_submission(engine, profile="ci", max_examples=10, only=["Value tanh"])
    assert result.item("Value tanh").status == "failed"


def _methods_engine(tmp_path: Path, **flags: bool) -> Path:
    text = (WILD / "extra_methods.py").read_text()
    for flag, on in flags.items():
        text = text.replace(f"{flag} = False", f"{flag} = {on}")
    engine = tmp_path / "engine.py"
    engine.write_text(text)
    return engine


def test_methods_an_engine_adds_are_found_and_judged(tmp_path: Path) -> None:
    """softplus(), leaky_relu(slope), linear(w, b), clamp(lo, hi) are found by calling them
    (detach(), cut off from the graph on purpose, is not one), and pass: clamp's kink and
    detach never cost a point."""
    result = check_submission(_methods_engine(tmp_path), profile="ci", max_examples=25)
    note = next(n for n in result.notes if n.startswith("other methods returning a Value"))
    for sig in ("softplus()", "leaky_relu(number)", "linear(value, value)",
                "clamp(number, number)"):
        assert sig in note, note
    assert "detach" not in note
    methods = result.item("Value methods")
    assert methods.status == "passed", _failures(result)
    assert [c.name for c in methods.checks] == ["numerical", "fan-out"]
    assert result.failed_items == ()


def test_a_method_that_overwrites_where_its_input_fans_out_fails(tmp_path: Path) -> None:
    """self.grad = out.grad in softplus's closure: the fan-out check fails, named in the
    lecture's words (the backward flows add where a value is used in several places)."""
    result = check_submission(_methods_engine(tmp_path, SOFTPLUS_OVERWRITES=True), profile="ci",
                              max_examples=25, only=["Value methods"])
    item = result.item("Value methods")
    checks = {c.name: c for c in item.checks}
    assert checks["numerical"].status == "passed"
    failed = checks["fan-out"]
    assert failed.status == "failed" and failed.kind == "engine-overwrite"
    assert "a.softplus()" in failed.message and "a.grad = 0.375" in failed.message
    assert failed.diagnosis is not None and failed.diagnosis.mistake == "engine-overwrite"
    assert "a.softplus()'s _backward overwrote a.grad" in failed.diagnosis.text
    assert "backward flows add" in failed.diagnosis.text


def test_a_method_that_forgets_the_upstream_gradient_fails(tmp_path: Path) -> None:
    result = check_submission(_methods_engine(tmp_path, LINEAR_NO_UPSTREAM=True), profile="ci",
                              max_examples=25, only=["Value methods"])
    failed = result.item("Value methods").first_failure
    assert failed is not None and failed.name == "numerical"
    assert "linear(" in failed.message
    assert failed.diagnosis is not None and failed.diagnosis.mistake == "upstream-not-multiplied"


def test_an_engine_without_added_methods_has_the_item_out_of_the_total(tmp_path: Path) -> None:
    result = check_submission(WILD / "float32_tensor.py", profile="ci", max_examples=5,
                              only=["Value methods"])
    assert result.item("Value methods").status == "not implemented"
    assert result.max_score == 0


def test_the_lectures_tanh_gets_advice_at_extreme_inputs_not_a_lower_grade() -> None:
    """(e^2x - 1) / (e^2x + 1) overflows at a = 400: reported as advice (weight 0), in the
    lecture's terms, and the item keeps every point."""
    result = check_submission(WILD / "lecture_tanh.py", profile="ci", max_examples=10,
                              only=["Value tanh", "Value exp"])
    tanh = result.item("Value tanh")
    extremes = {c.name: c for c in tanh.checks}["extremes"]
    assert extremes.status == "failed"
    assert "OverflowError" in extremes.message and "advice, not graded" in extremes.message
    assert "math.tanh(x)" in extremes.message
    assert tanh.score == tanh.max_score and result.score == result.max_score
    assert {c.name: c.status for c in result.item("Value exp").checks}["extremes"] == "passed"


def _script(tmp_path: Path, flag: str) -> Path:
    engine = tmp_path / "micrograd.py"
    engine.write_text((WILD / "lecture_tanh.py").read_text().replace(
        f"{flag} = False", f"{flag} = True"))
    return engine


def test_a_script_that_plots_at_import_loads_with_a_drawing_stand_in(tmp_path: Path) -> None:
    """plt.subplots(), ax.plot(...), plt.style.context(...), plt.show() at import: matplotlib
    is not installed where bpverify grades, and its stand-in accepts any call."""
    js = tmp_path / "r.json"
    assert main(["grade", str(_script(tmp_path, "PLOTS")), "--profile", "ci", "--examples", "5",
                 "--only", "Value tanh", "--json", str(js)]) == 0
    result = SubmissionResult.from_dict(json.loads(js.read_text()))
    assert result.load_error == ""
    assert any("imports matplotlib" in n and "accepts any call" in n for n in result.notes), \
        result.notes
    assert result.item("Value tanh").status == "passed"


def test_a_script_that_trains_too_long_at_import_says_so_and_names_timeout(
        tmp_path: Path) -> None:
    """The import runs out of time: the autograd rubric is still chosen (from the source), and
    every item says the import took too long and that --timeout gives it more time."""
    js = tmp_path / "r.json"
    main(["grade", str(_script(tmp_path, "TRAINS")), "--profile", "ci", "--timeout", "1",
          "--json", str(js)])
    result = SubmissionResult.from_dict(json.loads(js.read_text()))
    assert result.rubric == "autograd"
    assert any("read from its source, since it did not import" in n for n in result.notes)
    assert "did not finish importing within 4 s (--timeout 1 plus 3 s" in result.load_error
    assert "--timeout SECONDS" in result.load_error and "__main__" in result.load_error
    assert {i.status for i in result.items} == {"not implemented"}


def test_an_overwrite_hidden_by_the_order_of_a_set_is_still_caught(tmp_path: Path) -> None:
    """exp's _backward overwrites: on a program where its closure happens to run first (a
    set's order), every gradient is right, yet the fan-out item fails on every seed, naming
    the node that overwrites."""
    engine = tmp_path / "engine.py"
    engine.write_text((WILD / "lecture_tanh.py").read_text().replace(
        "EXP_OVERWRITES = False", "EXP_OVERWRITES = True"))
    for seed in (1, 2):
        result = check_submission(engine, profile="ci", seed=seed, only=["Value fan-out"])
        failed = result.item("Value fan-out").first_failure
        assert failed is not None and failed.kind == "engine-overwrite", seed
        assert "(Value exp) overwrite" in failed.message, failed.message
        assert failed.diagnosis is not None and failed.diagnosis.mistake == "engine-overwrite"


def test_a_type_alias_named_value_is_not_taken_for_an_engine(tmp_path: Path) -> None:
    """``Value = Any`` in a typed gates file (the reference's own gates.py): typing.Any is a
    class since Python 3.11, and is no engine, so there is nothing to report about it."""
    sub = tmp_path / "gates.py"
    sub.write_text("from typing import Any\n\nValue = Any\n\n\nclass AddGate:\n"
                   "    def forward(self, x: Value, y: Value) -> Value:\n        return x + y\n\n"
                   "    def backward(self, dz: Value) -> tuple[Value, Value]:\n"
                   "        return dz, dz\n")
    js = tmp_path / "r.json"
    assert main(["grade", str(sub), "--profile", "ci", "--examples", "5", "--only", "AddGate",
                 "--json", str(js)]) == 0
    result = SubmissionResult.from_dict(json.loads(js.read_text()))
    assert result.load_error == ""
    assert result.item("AddGate").status == "passed"
