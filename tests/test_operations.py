"""The one table of operations (bpverify/operations.py): its local gradients are the derivatives
of its values (by JAX), its Python and JAX values agree, and the gate oracle computes what the
table says (the engine's oracle and program builder are judged end to end in test_autograd)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from bpverify.contract import GATES
from bpverify.grading import oracles
from bpverify.operations import MATH, OPERATIONS, of_gate

#: Operands away from kinks, poles and overflow; a gate's constant is the last one.
POINTS = [(0.7, -1.3), (-2.1, 0.4), (1.9, 2.6)]


def _args(key: str, point: tuple[float, float]) -> tuple[float, ...]:
    a, b = point
    if key in ("log", "**", "rpow"):  # a positive base (rpow's is its constant, the first)
        a = abs(a) + 0.5
    return (a, b)[: OPERATIONS[key].arity]


@pytest.mark.parametrize("key", sorted(OPERATIONS))
@pytest.mark.parametrize("point", POINTS)
def test_local_gradients_are_the_derivatives_of_the_values(key: str,
                                                           point: tuple[float, float]) -> None:
    op = OPERATIONS[key]
    args = _args(key, point)
    jm = oracles.jax_math()
    with oracles.float64():
        by_jax = jax.grad(lambda *xs: op.value(jm, *xs), argnums=tuple(range(op.arity)))(*args)
        by_jax_value = float(op.value(jm, *args))
    local = op.local(MATH, *args)
    assert len(local) == op.arity
    for k, (want, got) in enumerate(zip(by_jax, local)):
        if (key, k) in (("**", 1), ("rpow", 0)):
            assert got == 0.0  # the constant (exponent, or rpow's base): no gradient
            continue
        assert math.isclose(float(got), float(want), rel_tol=1e-12, abs_tol=1e-12), (key, k)
    assert math.isclose(op.value(MATH, *args), by_jax_value, rel_tol=1e-12)


@pytest.mark.parametrize("gate", [g for g in GATES if g != "SigmoidNeuron"])
def test_the_gate_oracle_computes_the_tables_operation(gate: str) -> None:
    op = of_gate(gate)
    spec = GATES[gate]
    x = np.array([0.7, -2.1, 1.9])
    y = np.array([-1.3, 0.4, 2.6])
    inputs = [x, y][: len(spec.inputs)]
    const = 1.5 if spec.const else None
    dout = np.array([0.5, -2.0, 1.0])
    out, grads = oracles.gate(gate, inputs, const, dout)
    operands = [*inputs, const] if spec.const else inputs
    for i in range(3):
        args = [float(v[i]) if isinstance(v, np.ndarray) else v for v in operands]
        assert math.isclose(float(out[i]), op.value(MATH, *args), rel_tol=1e-12)
        local = op.local(MATH, *args)
        for g, lg in zip(grads, local):
            assert math.isclose(float(g[i]), lg * dout[i], rel_tol=1e-12, abs_tol=1e-15)


def test_every_gate_but_the_neuron_has_one_operation() -> None:
    assert {o.gate for o in OPERATIONS.values() if o.gate} == set(GATES) - {"SigmoidNeuron"}
    with pytest.raises(KeyError, match="expected one of AddGate"):
        of_gate("SigmoidNeuron")
