"""Autograd engines as found in the wild (issue 21): each pattern of the field test, with a
small engine of our own under tests/engines/wild/, gets the right verdict."""
from __future__ import annotations

from pathlib import Path

from bpverify import check_submission

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
