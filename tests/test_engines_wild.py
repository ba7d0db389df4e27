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
