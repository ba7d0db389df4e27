"""The reference implementation passes every check, through the same door as a student's code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bpverify
from bpverify.grading.rubric import load_rubric


@pytest.mark.parametrize("item", load_rubric("default").item_names)
def test_reference_passes_every_check(reference_path: Path, item: str) -> None:
    result = bpverify.check_submission(reference_path, profile="ci", only=[item])
    (got,) = result.items
    failures = [f"{c.name}: {c.message}" for c in got.checks if c.status != "passed"]
    assert got.status == "passed", "\n".join(failures)
    assert all(c.status == "passed" for c in got.checks), failures
    # Every check judges its full budget of examples: those ``assume`` set aside (ReLU kinks,
    # a net's score gap) are drawn again, not subtracted from it.
    budget = bpverify.PROFILES["ci"].max_examples
    drawn = {c.name: c.examples_run - c.examples_rejected for c in got.checks
             if c.name != "lecture values"}
    assert drawn and all(n == budget for n in drawn.values()), drawn


def test_lecture_add_multiply_circuit(reference_path: Path) -> None:
    result = bpverify.check_submission(reference_path, profile="ci", only=["circuit (x+y)*z"])
    trace = result.items[0].check("lecture values").trace
    add, mul = trace
    assert add.input_values == (-2.0, 5.0) and add.output_value == 3.0  # q = 3
    assert mul.output_value == -12.0  # f = -12
    assert mul.grads == (-4.0, 3.0)  # df/dq = -4, df/dz = 3
    assert add.grads == (-4.0, -4.0)  # df/dx = df/dy = -4


def test_lecture_sigmoid_neuron_circuit(reference_path: Path) -> None:
    result = bpverify.check_submission(
        reference_path, profile="ci", only=["circuit sigmoid neuron"]
    )
    steps = {s.label + s.output: s for s in result.items[0].check("lecture values").trace}
    recip = steps["1/xf"]
    assert round(recip.input_values[0], 2) == 1.37 and round(recip.output_value, 2) == 0.73
    assert round(recip.local_grads[0], 2) == -0.53
    assert round(steps["expg"].output_value, 2) == 0.37  # e^-1
    w0x0, w1x1 = steps["*a"], steps["*b"]
    assert [round(g, 2) for g in w0x0.grads] == [-0.20, 0.39]  # dw0, dx0
    assert [round(g, 2) for g in w1x1.grads] == [-0.39, -0.59]  # dw1, dx1
    assert round(steps["+d"].grads[1], 2) == 0.20  # dw2


def test_reference_sigmoid_neuron_gate_matches_lecture() -> None:
    from reference import SigmoidNeuron

    neuron = SigmoidNeuron()
    out = neuron.forward(np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0]))
    dw, dx = neuron.backward(1.0)
    assert round(float(out), 2) == 0.73
    assert np.allclose(np.round(dw, 2), [-0.20, -0.39, 0.20])
    assert np.allclose(np.round(dx, 2), [0.39, -0.59])
    # The sigmoid shortcut: (1 - 0.73) * 0.73 is about 0.20.
    assert round((1 - float(out)) * float(out), 2) == 0.20
