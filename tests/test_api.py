"""The public API: items, result model, strategies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, find, settings

import bpverify
from bpverify import strategies
from bpverify.model import SubmissionResult

SWAPPED = """
from reference import *  # noqa: F403


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.x * dz, self.y * dz
"""


def test_check_item_by_path_and_json_round_trip(tmp_path: Path) -> None:
    sub = tmp_path / "swapped.py"
    sub.write_text(SWAPPED)
    item = bpverify.check_item("MultiplyGate", sub, max_examples=10)
    assert item.status == "failed"
    backward = item.check("backward")
    assert backward.kind == "wrong-values"
    assert backward.example is not None and set(backward.example) == {"x", "y", "dout"}
    assert backward.mismatches and backward.mismatches[0].value in ("dx", "dy")
    assert item.check("forward").passed

    result = bpverify.check_submission(sub, only=["MultiplyGate", "AddGate"], max_examples=5)
    again = SubmissionResult.from_dict(result.to_dict())
    assert again == result
    assert SubmissionResult.from_dict(
        __import__("json").loads(result.to_json())
    ).items == result.items


def test_unknown_names_are_clear_errors(reference_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown item 'Nope'; expected one of AddGate"):
        bpverify.check_item("Nope", reference_path)
    with pytest.raises(ValueError, match=r"unknown item\(s\) \['Nope'\]"):
        bpverify.check_submission(reference_path, only=["Nope"])
    with pytest.raises(ValueError, match="unknown profile 'fast'; expected one of dev, ci"):
        bpverify.check_submission(reference_path, profile="fast")
    with pytest.raises(ValueError, match=r"gate_cases\(name='Foo'\): expected one of"):
        strategies.gate_cases("Foo")


def _find(strategy, condition):
    return find(strategy, condition, settings=settings(max_examples=2000, database=None,
                                                       phases=[Phase.generate]))


def test_strategies_reach_the_cases_that_expose_classic_mistakes() -> None:
    # Batches of several samples (db = dout[0] hides at N = 1), x of more than two dimensions,
    # square and non-square weights.
    _find(strategies.affine_cases(), lambda c: c["x"].shape[0] >= 2)
    _find(strategies.affine_cases(), lambda c: c["x"].ndim > 2)
    _find(strategies.affine_cases(), lambda c: c["w"].shape[0] == c["w"].shape[1] > 1)
    _find(strategies.affine_cases(), lambda c: c["w"].shape[0] != c["w"].shape[1])
    # Exact ties for max, exact zeros for ReLU, hinge margins of exactly zero.
    _find(strategies.gate_cases("MaxGate"), lambda c: np.any(np.asarray(c["x"]) == c["y"]))
    _find(strategies.relu_cases(), lambda c: np.any(c["x"] == 0) and np.any(c["x"] != 0))

    def margin_zero(c: dict) -> bool:
        s, y = c["scores"], c["y"]
        m = s - s[np.arange(len(y)), y][:, None] + 1.0
        m[np.arange(len(y)), y] = 1.0
        return bool(np.any(m == 0))

    _find(strategies.loss_cases("svm_loss"), margin_zero)
    # Scalars and up to 4-D arrays for gates; upstream gradients never all ones.
    _find(strategies.gate_cases("AddGate"), lambda c: isinstance(c["x"], float))
    _find(strategies.gate_cases("AddGate"), lambda c: np.ndim(c["x"]) == 4)
    big = find(strategies.gate_cases("SigmoidGate", large=True), lambda c: True)
    assert np.all(np.abs(big["x"]) >= 30)
    _find(strategies.loss_cases("softmax_loss", large=True),
          lambda c: np.abs(c["scores"]).max() > 500)
