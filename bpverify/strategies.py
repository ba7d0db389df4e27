"""Hypothesis strategies for every contract item, importable for your own property tests.

Each strategy draws a *case*: a dict of named inputs (and the upstream gradient ``dout``), with
shapes and values chosen to expose the classic mistakes: batches of one and of several (``db =
dout[0]`` hides at N = 1), ``x`` of more than two dimensions for affine, square and non-square
weights, exact ties for max, exact zeros for ReLU, hinge margins of exactly zero, and upstream
gradients that are never all ones.

>>> from hypothesis import given
>>> from bpverify.strategies import gate_cases
>>> @given(gate_cases("MultiplyGate"))
... def test_my_gate(case): ...
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify.contract import GATES

__all__ = [
    "affine_cases",
    "circuit_cases",
    "gate_cases",
    "gate_shapes",
    "loss_cases",
    "net_cases",
    "relu_cases",
    "values",
]

Case = dict[str, Any]


#: Magnitudes below this become exact zeros: 1e-50 says nothing a teacher cares about, and in
#: float32 (CS231n's dtype) it underflows, which would only test the dtype, not the gradient.
TINY = 1e-6


def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
        lambda v: 0.0 if abs(v) < TINY else v
    )


def values(
    shape: tuple[int, ...], *, lo: float = -5.0, hi: float = 5.0, zeros: bool = False
) -> st.SearchStrategy[Any]:
    """A Python float for shape (), else a float64 array; ``zeros`` mixes in exact zeros."""
    elements = _floats(lo, hi)
    if zeros:
        elements = st.one_of(st.just(0.0), elements)
    if shape == ():
        return elements
    return hnp.arrays(np.float64, shape, elements=elements)


def _magnitudes(shape: tuple[int, ...], lo: float, hi: float) -> st.SearchStrategy[Any]:
    """Values with lo <= |v| <= hi and either sign (e.g. away from the pole of 1/x)."""
    el = st.tuples(st.sampled_from([-1.0, 1.0]), _floats(lo, hi)).map(lambda t: t[0] * t[1])
    return el if shape == () else hnp.arrays(np.float64, shape, elements=el)


def _upstream(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    # Away from zero, so that no element of a gradient can hide behind a zero upstream value,
    # and never +-1: a minimal example then shrinks to dout = 2, where "forgot to multiply by
    # dout" (off by a factor 2) and "sign flipped" (off by -1) look different.
    magnitude = st.one_of(
        st.sampled_from([2.0, 0.5, 1.5, 3.0]), _floats(0.25, 3.0).filter(lambda v: v != 1.0)
    )
    el = st.tuples(st.sampled_from([1.0, -1.0]), magnitude).map(lambda t: t[0] * t[1])
    return el if shape == () else hnp.arrays(np.float64, shape, elements=el)


def gate_shapes() -> st.SearchStrategy[tuple[int, ...]]:
    """Scalars and 1-D to 4-D arrays with small sides."""
    return st.one_of(st.just(()), hnp.array_shapes(min_dims=1, max_dims=4, max_side=3))


@st.composite
def _gate_case(draw: st.DrawFn, name: str, large: bool) -> Case:
    if name == "SigmoidNeuron":
        d = draw(st.integers(1, 4))
        w = draw(values((d + 1,), lo=-4.0, hi=4.0))
        x = draw(values((d,), lo=-4.0, hi=4.0))
        if large:  # a pre-activation of magnitude up to ~1000, driven by the bias
            w[-1] = draw(_magnitudes((), 50.0, 1000.0))
        return {"w": w, "x": x, "dout": draw(_upstream(()))}
    shape = draw(gate_shapes())
    case: Case = {}
    if name == "ReciprocalGate":
        case["x"] = draw(_magnitudes(shape, 0.1, 10.0))
    elif name == "ExpGate":
        case["x"] = draw(values(shape, lo=-8.0, hi=8.0))
    elif name == "SigmoidGate" and large:
        case["x"] = draw(_magnitudes(shape, 30.0, 1000.0))
    else:
        case["x"] = draw(values(shape, lo=-10.0, hi=10.0))
    if name == "MaxGate":
        # Exact ties on purpose: the subgradient rule must accept any split of dz.
        other = draw(values(shape, lo=-10.0, hi=10.0))
        tie = draw(st.booleans()) if shape == () else draw(hnp.arrays(np.bool_, shape))
        case["y"] = np.where(tie, case["x"], other) if shape != () else (
            case["x"] if tie else other
        )
    elif len(GATES[name].inputs) == 2:
        case["y"] = draw(values(shape, lo=-10.0, hi=10.0))
    const = GATES[name].const
    if const is not None:
        case[const] = draw(_floats(-5.0, 5.0))
    case["dout"] = draw(_upstream(shape))
    return case


def gate_cases(name: str, *, large: bool = False) -> st.SearchStrategy[Case]:
    """Inputs, constructor constant and upstream gradient for the gate ``name``.

    ``large=True`` draws the large magnitudes (|x| up to ~1000) where only a numerically
    stable sigmoid stays finite.
    """
    if name not in GATES:
        raise ValueError(f"gate_cases(name={name!r}): expected one of {sorted(GATES)}")
    return _gate_case(name, large)


@st.composite
def affine_cases(draw: st.DrawFn) -> Case:
    """x of shape (N, d1, ..., dk) with k from 1 to 3, w of shape (D, M), b of shape (M,)."""
    n = draw(st.integers(1, 4))
    rest = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    d = int(np.prod(rest))
    m = d if draw(st.booleans()) else draw(st.integers(1, 5))  # square and non-square w
    return {
        "x": draw(values((n, *rest))),
        "w": draw(values((d, m))),
        "b": draw(values((m,))),
        "dout": draw(_upstream((n, m))),
    }


@st.composite
def relu_cases(draw: st.DrawFn) -> Case:
    """x with exact zeros on purpose, of 1 to 4 dimensions."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4))
    return {"x": draw(values(shape, zeros=True)), "dout": draw(_upstream(shape))}


@st.composite
def _loss_case(draw: st.DrawFn, name: str, large: bool) -> Case:
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    if large:
        scores = draw(hnp.arrays(np.float64, (n, c), elements=_floats(-1000.0, 1000.0)))
    elif name == "svm_loss" and draw(st.booleans()):
        # Half-integer scores make hinge margins of exactly zero likely.
        scores = draw(hnp.arrays(np.float64, (n, c), elements=st.integers(-6, 6))) / 2.0
    else:
        scores = draw(values((n, c), lo=-10.0, hi=10.0))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return {"scores": scores, "y": y}


def loss_cases(name: str, *, large: bool = False) -> st.SearchStrategy[Case]:
    """Scores of shape (N, C) and integer labels y for ``softmax_loss`` or ``svm_loss``."""
    if name not in ("softmax_loss", "svm_loss"):
        raise ValueError(f"loss_cases(name={name!r}): expected 'softmax_loss' or 'svm_loss'")
    return _loss_case(name, large)


@st.composite
def _net_case(draw: st.DrawFn, layers: int, reg: bool) -> Case:
    n, d, c = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(2, 4))
    hidden = [draw(st.integers(1, 5)) for _ in range(layers - 1)]
    dims = [d, *hidden, c]
    params = {}
    for i in range(layers):
        params[f"W{i + 1}"] = draw(values((dims[i], dims[i + 1]), lo=-2.0, hi=2.0))
        params[f"b{i + 1}"] = draw(values((dims[i + 1],), lo=-2.0, hi=2.0))
    return {
        "X": draw(values((n, d), lo=-3.0, hi=3.0)),
        "y": draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1))),
        "params": params,
        "dims": dims,
        "reg": draw(_floats(0.05, 2.0)) if reg else 0.0,
    }


def net_cases(name: str, *, reg: bool = False) -> st.SearchStrategy[Case]:
    """Data, labels, parameters and reg for ``TwoLayerNet`` or ``ThreeLayerNet``."""
    layers = {"TwoLayerNet": 2, "ThreeLayerNet": 3}.get(name)
    if layers is None:
        raise ValueError(f"net_cases(name={name!r}): expected 'TwoLayerNet' or 'ThreeLayerNet'")
    return _net_case(layers, reg)


@st.composite
def circuit_cases(draw: st.DrawFn, inputs: tuple[str, ...]) -> Case:
    """Scalar values for a circuit's inputs and a (non-unit) upstream gradient."""
    vals = {name: draw(_floats(-4.0, 4.0)) for name in inputs}
    return {"values": vals, "dout": draw(_upstream(()))}
