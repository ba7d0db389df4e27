"""Mistake diagnosis: failures produced by grading broken submissions get the right name.

Submissions are written to tmp_path as ``from reference import *`` plus one redefined name, and
graded through ``bpverify.check_submission`` (the API's in-process door), so every diagnosis is
made from a real minimal example that Hypothesis found.
"""

from __future__ import annotations

import ast
import json
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import bpverify
from bpverify.feedback.diagnose import Diagnosis, diagnose, diagnosis_line, locate_fault
from bpverify.grading.checks import checks_for
from bpverify.grading.engine import PROFILES, run_check
from bpverify.model import CheckResult, Facts, GateStep, ItemResult
from bpverify.registry import item_named
from bpverify.submission import InProcessExecutor, load_submission

ZOO = Path(__file__).resolve().parent / "zoo" / "mistakes"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "student.py"
    path.write_text("import numpy as np\nfrom reference import *  # noqa: F403\n\n"
                    + textwrap.dedent(body))
    return path


def _grade(tmp_path: Path, body: str, only: list[str]) -> bpverify.SubmissionResult:
    return bpverify.check_submission(_write(tmp_path, body), profile="ci", only=only)


def _diagnosis(result: bpverify.SubmissionResult, item: str, check: str) -> Diagnosis:
    it = result.item(item)
    c = it.check(check)
    assert c.status == "failed", f"{item} / {check} passed; nothing to diagnose"
    d = diagnose(c, it)
    assert d is not None, f"no diagnosis for {item} / {check}: [{c.kind}] {c.message}"
    return d


# --- graded broken submissions --------------------------------------------------------------


def test_reciprocal_sign_in_the_circuit(tmp_path: Path) -> None:
    r = _grade(tmp_path, """
        class ReciprocalGate:
            def forward(self, x):
                self.x = x
                return 1.0 / x
            def backward(self, dz):
                return dz / (self.x * self.x)
        """, ["circuit sigmoid neuron"])
    d = _diagnosis(r, "circuit sigmoid neuron", "backward")
    assert d.mistake in ("sign-flipped", "sign-or-upstream")
    assert d.saw.startswith("The 1/x gate (ReciprocalGate, computing f) is the first wrong one")
    assert "local gradient" in d.idea


def test_multiply_swapped_names_the_switch(tmp_path: Path) -> None:
    r = _grade(tmp_path, """
        class MultiplyGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y
            def backward(self, dz):
                return self.x * dz, self.y * dz
        """, ["MultiplyGate", "circuit (x+y)*z"])
    d = _diagnosis(r, "MultiplyGate", "backward")
    assert d.mistake == "inputs-swapped"
    assert d.text == ("dx got dout × x and dy got dout × y, the inputs are swapped — a multiply "
                      "gate switches: each input gets the upstream gradient times the other "
                      "input.")
    # wrong even for one instance: the instances check leaves it to the backward check
    assert r.item("MultiplyGate").check("instances").status != "failed"
    circuit = _diagnosis(r, "circuit (x+y)*z", "backward")
    assert circuit.mistake == "inputs-swapped" and "dq got dout × q" in circuit.saw


def test_sigmoid_given_where_its_derivative_belongs(tmp_path: Path) -> None:
    r = _grade(tmp_path, """
        class SigmoidNeuron:
            def forward(self, w, x):
                self.w, self.x = np.asarray(w), np.asarray(x)
                self.z = 1 / (1 + np.exp(-(self.w[:-1] @ self.x + self.w[-1])))
                return self.z
            def backward(self, dz):
                d = self.z * dz
                return np.append(self.x, 1.0) * d, self.w[:-1] * d
        """, ["SigmoidNeuron"])
    d = _diagnosis(r, "SigmoidNeuron", "backward")
    assert d.mistake == "sigma-not-derivative" and "(1 - σ(x)) σ(x)" in d.idea


def test_net_regularization_factor(tmp_path: Path) -> None:
    path = _write(tmp_path, """
        from reference.nets import TwoLayerNet as _Net

        class TwoLayerNet(_Net):
            def loss(self, X, y=None):
                out = super().loss(X, y)
                if y is None:
                    return out
                loss, grads = out
                for k in ("W1", "W2"):
                    grads[k] = grads[k] + self.reg * self.params[k]
                return loss, grads
        """)
    check, item = _run_one(path, "TwoLayerNet", "regularization")
    d = diagnose(check, item)
    assert d is not None and d.mistake == "regularization-factor" and "reg·W" in d.idea


# --- failures the model describes by kind or message ------------------------------------------


def _failed(kind: str, message: str, **kw: Any) -> tuple[CheckResult, ItemResult]:
    c = CheckResult(name=kw.pop("name", "instances"), status="failed", kind=kind,
                    message=message, **kw)
    return c, ItemResult(name=kw.get("item", "ExpGate"), category="gate", status="failed",
                         checks=(c,))


@pytest.mark.parametrize(
    ("kind", "message", "facts", "mistake", "idea"),
    [
        ("timeout", "ExpGate.backward timed out after 10 s", Facts(), "timeout", "vectorized"),
        ("raised", "the worker ran out of memory (limit 2048 MB)",
         Facts(exc_type="MemoryError"), "memory", "Jacobians"),
        ("shared-state", "two ExpGate instances ...", Facts(), "shared-state", "on itself"),
        ("not-finite", "SigmoidGate.forward returned its output containing nan", Facts(),
         "overflow", "shift by the max"),
        ("mutates-input", "ExpGate.backward modified its upstream gradient dout in place",
         Facts(changed_input="dout"), "mutates-input", "add gate hands the same upstream "
         "gradient"),
    ],
)
def test_described_failures(kind: str, message: str, facts: Facts, mistake: str,
                            idea: str) -> None:
    c, item = _failed(kind, message, expected={"dout": [1.0]}, got={"dout": [2.0]},
                      facts=facts)
    d = diagnose(c, item)
    assert d is not None and d.mistake == mistake and idea in d.text
    assert d.text.count(" — ") == 1 and d.text.endswith(".")


def test_passing_and_unknown_failures_get_none() -> None:
    ok = CheckResult(name="forward", status="passed")
    item = ItemResult(name="AddGate", category="gate", status="passed", checks=(ok,))
    assert diagnose(ok, item) is None
    c, item = _failed("wrong-values", "differs", example={"x": 1.0, "dout": 2.0},
                      expected={"dx": 5.4366}, got={"dx": 1.234})
    assert diagnose(c, item) is None  # no pattern: say nothing rather than guess
    c, item = _failed("wrong-values", "differs", example={"x": [1.0, 2.0], "dout": [2.0, 2.0]},
                      expected={"dx": [5.4366, 14.778]}, got={"dx": [1.0, 3.0]})
    assert diagnose(c, item) is None


def test_diagnosis_line_for_text_outputs() -> None:
    c, item = _failed("timeout", "timed out")
    assert diagnosis_line(c, item).startswith("diagnosis: the code ran past the time limit")
    assert diagnosis_line(c, item, prefix="\n    hint: ").startswith("\n    hint: the code")
    ok = CheckResult(name="forward", status="passed")
    assert diagnosis_line(ok, item) == ""


def test_sign_or_upstream_when_dout_is_minus_one() -> None:
    c, item = _failed("wrong-values", "differs", example={"x": 1.0, "dout": -1.0},
                      expected={"dx": -2.718281828}, got={"dx": 2.718281828})
    d = diagnose(c, item)
    assert d is not None and d.mistake == "sign-or-upstream" and "dout = -1" in d.saw


# --- locating the guilty gate ---------------------------------------------------------------


def _steps(bad_mul_grads: tuple[float, float]) -> list[GateStep]:
    """(x+y)*z at the lecture's values with the multiply gate returning ``bad_mul_grads``."""
    dq = bad_mul_grads[0]
    return [
        GateStep("AddGate", "+", ("x", "y"), "q", (-2.0, 5.0), 3.0, 3.0, dq, (dq, dq), (dq, dq),
                 (1.0, 1.0), True, True),
        GateStep("MultiplyGate", "*", ("q", "z"), "f", (3.0, -4.0), -12.0, -12.0, 1.0,
                 bad_mul_grads, (-4.0, 3.0), (-4.0, 3.0), True, bad_mul_grads == (-4.0, 3.0)),
    ]


def test_locate_fault_guilty_and_affected() -> None:
    fault = locate_fault(_steps((3.0, -4.0)))
    assert fault is not None and fault.direction == "backward"
    assert fault.index == 1 and fault.affected == {0}
    assert fault.true_grads["x"] == -4.0 and fault.true_grads["z"] == 3.0
    assert locate_fault(_steps((-4.0, 3.0))) is None


# --- the mistake zoo ------------------------------------------------------------------------

#: What each zoo mistake must be diagnosed as (a missing file here only needs *a* diagnosis,
#: unless the file states its own: ``DIAGNOSIS = "<mistake id>"``).
#: Two names where the minimal example cannot tell them apart: with dout = -1, "the local
#: gradient alone" and "a flipped sign" give the same numbers.
ZOO_DIAGNOSES: dict[str, set[str]] = {
    "add_backward_returns_none": {"no-return"},
    "add_returns_dz_zero": {"gradient-dropped"},
    "addconst_returns_dc": {"wrong-count"},
    "addconst_scales_by_c": {"constant-in-gradient"},
    "affine_db_first_row": {"not-summed-over-batch"},
    "affine_db_mean": {"not-summed-over-batch", "averaged-not-summed"},
    "affine_dw_transposed": {"transposed"},
    "affine_dx_not_reshaped": {"not-reshaped"},
    "affine_forward_no_bias": {"missing-bias"},
    "exp_backward_inplace": {"mutates-input"},
    "exp_missing_upstream": {"upstream-not-multiplied", "sign-or-upstream"},
    "exp_returns_x_times_dz": {"wrong-local-gradient"},
    "max_forward_builtin_max": {"python-max-on-arrays"},
    "max_pool_int_of_where": {"array-to-scalar"},
    "max_routes_to_smaller": {"routed-to-smaller"},
    "multiply_missing_upstream": {"upstream-not-multiplied", "sign-or-upstream"},
    "multiply_state_on_class": {"shared-state"},
    "multiply_swapped_inputs": {"inputs-swapped"},
    "net_forgets_to_return_scores": {"no-scores-branch"},
    "net_missing_reg_grad": {"missing-regularization"},
    "net_missing_reg_loss": {"missing-regularization"},
    "net_reg_without_half": {"regularization-factor"},
    "net_regularizes_biases": {"regularized-biases"},
    "net_skips_relu_backward": {"relu-backward-skipped"},
    "net_wrong_grad_keys": {"wrong-keys"},
    "neuron_forgets_bias_grad": {"missing-bias-gradient"},
    "neuron_returns_three_grads": {"wrong-count"},
    "reciprocal_missing_upstream": {"upstream-not-multiplied", "sign-or-upstream"},
    "reciprocal_wrong_sign": {"sign-flipped", "sign-or-upstream"},
    "relu_backward_inplace": {"mutates-input"},
    "relu_forward_inplace": {"mutates-input"},
    "relu_mask_from_dout": {"relu-mask-from-dout"},
    "scale_ignores_a": {"missing-local-gradient"},
    "scale_state_on_class": {"shared-state"},
    "sigmoid_grad_is_sigma": {"sigma-not-derivative"},
    "sigmoid_missing_upstream": {"upstream-not-multiplied", "sign-or-upstream"},
    "sigmoid_overflow": {"overflow"},
    "softmax_grad_missing_minus_one": {"missing-minus-one"},
    "softmax_grad_not_divided": {"not-averaged"},
    "softmax_loss_summed": {"not-averaged"},
    "softmax_no_max_shift": {"overflow"},
    "svm_margin_zero": {"margin-zero"},
    "svm_no_correct_class_count": {"missing-correct-class"},
}


def _literal(path: Path, name: str) -> Any:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == name):
            return ast.literal_eval(node.value)
    return None


def _expect(path: Path) -> dict[str, str]:
    return _literal(path, "EXPECT") or {}


def _run_one(path: Path, item_name: str, check_name: str) -> tuple[CheckResult, ItemResult]:
    """Only the check that must fail, as check_submission runs it (same seed, same profile)."""
    item = item_named(item_name)
    check = next(c for c in checks_for(item) if c.name == check_name)
    result = run_check(item.name, check, InProcessExecutor(load_submission(path)), seed=0,
                       max_examples=PROFILES["ci"].max_examples)
    return result, ItemResult(name=item.name, category=item.category, status=result.status,
                              checks=(result,))


@pytest.mark.parametrize("path", sorted(ZOO.glob("*.py")), ids=lambda p: p.stem)
def test_every_zoo_mistake_is_diagnosed(path: Path) -> None:
    expect = _expect(path)
    if not expect:
        pytest.skip(f"{path.name} has no EXPECT dict")
    own = _literal(path, "DIAGNOSIS")
    wanted = ZOO_DIAGNOSES.get(path.stem) or ({own} if own else None)
    for n, (item_name, check_name) in enumerate(expect.items()):
        check, item = _run_one(path, item_name, check_name)
        assert check.status == "failed", f"{path.stem}: {item_name} / {check_name} passed"
        d = diagnose(check, item)
        if d is None and wanted is None:
            pytest.xfail(f"{path.stem} is new to the zoo and has no diagnosis yet: add a rule to "
                         "bpverify/feedback/diagnose.py and an entry to ZOO_DIAGNOSES")
        assert d is not None, (f"{path.stem}: no diagnosis for {item_name} / {check_name}: "
                               f"[{check.kind}] {check.message}")
        if wanted is not None and n == 0:
            assert d.mistake in wanted, f"{path.stem}: {item_name} / {check_name}: {d}"


# --- diagnoses are data ---------------------------------------------------------------------


def test_rewording_a_message_does_not_change_a_diagnosis(tmp_path: Path) -> None:
    """diagnose reads a failure's facts and values, never its message."""
    path = _write(tmp_path, """
        class AddConstGate:
            def __init__(self, c):
                self.c = c
            def forward(self, x):
                return x + self.c
            def backward(self, dz):
                return dz, 0.0
        """)
    check, item = _run_one(path, "AddConstGate", "backward")
    assert check.facts.returned_count == 2 and check.facts.expected_count == 1
    reworded = replace(check, message="")
    found = diagnose(check, item)
    assert found is not None and found.mistake == "wrong-count"
    assert diagnose(reworded, replace(item, checks=(reworded,))) == found
    # the same facts with no message at all, written by hand
    shape = CheckResult("backward", "failed", kind="wrong-shape", facts=Facts(
        value="dw", got_shape=(5, 3), expected_shape=(3, 5)))
    d = diagnose(shape, ItemResult("affine_backward", "layer", "failed", checks=(shape,)))
    assert d is not None and d.mistake == "transposed" and d.subject == "dw"
    raised = CheckResult("forward", "failed", kind="raised",
                         facts=Facts(exc_type="ValueError", array_truth_value=True))
    d = diagnose(raised, ItemResult("MaxGate", "gate", "failed", checks=(raised,)))
    assert d is not None and d.mistake == "python-max-on-arrays"
    none = CheckResult("backward", "failed", kind="bad-return", facts=Facts(returned_none=True))
    d = diagnose(none, ItemResult("AddGate", "gate", "failed", checks=(none,)))
    assert d is not None and d.mistake == "no-return"


def test_the_engine_stores_each_diagnosis_once_and_json_keeps_it(tmp_path: Path) -> None:
    r = _grade(tmp_path, """
        class MultiplyGate:
            def forward(self, x, y):
                self.x, self.y = x, y
                return x * y
            def backward(self, dz):
                return self.x * dz, self.y * dz
        """, ["MultiplyGate"])
    check = r.item("MultiplyGate").check("backward")
    assert check.diagnosis is not None and check.diagnosis.mistake == "inputs-swapped"
    assert check.diagnosis == diagnose(check, r.item("MultiplyGate"))
    again = bpverify.SubmissionResult.from_dict(json.loads(r.to_json()))
    assert again == r and again.item("MultiplyGate").check("backward").diagnosis == check.diagnosis
