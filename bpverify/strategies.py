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

import functools
import math
from collections.abc import Callable
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


@functools.cache
def _floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
        lambda v: 0.0 if abs(v) < TINY else v
    )


def values(
    shape: tuple[int, ...], *, lo: float = -5.0, hi: float = 5.0, zeros: bool = False
) -> st.SearchStrategy[Any]:
    """A Python float for shape (), else a float64 array; ``zeros`` mixes in exact zeros."""
    shape = tuple(int(s) for s in shape)
    if shape == ():
        return _elements(float(lo), float(hi), bool(zeros))
    return _public(_draw_values, shape, float(lo), float(hi), bool(zeros))


@functools.cache
def _public(drawer: Callable[..., Any], *args: Any) -> st.SearchStrategy[Any]:
    return st.composite(lambda draw: drawer(draw, *args))()


# Element strategies are made once: Hypothesis validates (and labels) every new strategy object
# on its first draw, which cost more than the draw itself when made afresh for every example.


@functools.cache
def _elements(lo: float, hi: float, zeros: bool) -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), _floats(lo, hi)) if zeros else _floats(lo, hi)


@functools.cache
def _signed(lo: float, hi: float) -> st.SearchStrategy[float]:
    """lo <= |v| <= hi, either sign."""
    return st.tuples(st.sampled_from([-1.0, 1.0]), _floats(lo, hi)).map(lambda t: t[0] * t[1])


# Away from zero, so that no element of a gradient can hide behind a zero upstream value, and
# never +-1: a minimal example then shrinks to dout = 2, where "forgot to multiply by dout"
# (off by a factor 2) and "sign flipped" (off by -1) look different.
_UPSTREAM_STEPS = [2.0, 0.5, 1.5, 3.0]
_UPSTREAM = st.tuples(
    st.sampled_from([1.0, -1.0]),
    st.one_of(st.sampled_from(_UPSTREAM_STEPS), _floats(0.25, 3.0).filter(lambda v: v != 1.0)),
).map(lambda t: t[0] * t[1])

#: The first elements of an array are drawn one by one by Hypothesis (so a small array, the
#: kind a shrunk example has, is drawn and shrunk element by element); the rest come from a
#: generator seeded by Hypothesis, at a simplicity level that shrinks towards whole numbers.
#: Drawing every element of a 100-element array through Hypothesis cost ~10 ms an example.
HEAD = 4
_LEVELS = 8  #: 0: whole numbers, 1: one decimal, 2-7: full precision
_LEVEL = st.integers(0, _LEVELS - 1)
_SEEDS = st.integers(0, 2**32 - 1)


def _draw_array(draw: st.DrawFn, shape: tuple[int, ...], head: st.SearchStrategy[float],
                fill: Callable[..., Any], *args: Any) -> Any:
    size = math.prod(shape)
    out = np.empty(size, dtype=np.float64)
    for i in range(min(size, HEAD)):
        out[i] = draw(head)
    if size > HEAD:
        level = draw(_LEVEL)
        out[HEAD:] = fill(np.random.default_rng(draw(_SEEDS)), level, size - HEAD, *args)
    return out.reshape(shape)


def _fill_floats(rng: np.random.Generator, level: int, n: int, lo: float, hi: float) -> Any:
    """n floats in [lo, hi]: whole numbers at level 0, one decimal at 1, else any."""
    if level == 0:
        a, b = math.ceil(lo), math.floor(hi)
        if a <= b:
            return rng.integers(a, b + 1, n).astype(np.float64)
    v = rng.uniform(lo, hi, n)
    if level == 1:
        v = np.clip(np.round(v, 1), lo, hi)
    v[np.abs(v) < TINY] = 0.0
    return v


def _fill_values(rng: np.random.Generator, level: int, n: int, lo: float, hi: float,
                 zeros: bool) -> Any:
    v = _fill_floats(rng, level, n, lo, hi)
    if zeros and level > 0:  # level 0 (whole numbers) has its zeros already
        v[rng.random(n) < rng.choice([0.0, 0.25, 0.5])] = 0.0
    return v


def _fill_signed(rng: np.random.Generator, level: int, n: int, lo: float, hi: float) -> Any:
    return _fill_floats(rng, level, n, lo, hi) * rng.choice([-1.0, 1.0], n)


def _fill_upstream(rng: np.random.Generator, level: int, n: int) -> Any:
    if level == 0:
        return np.full(n, 2.0)
    if level == 1:
        mag = rng.choice(_UPSTREAM_STEPS, n)
    else:
        mag = rng.uniform(0.25, 3.0, n)
        mag[mag == 1.0] = 2.0
    return mag * rng.choice([1.0, -1.0], n)


def _draw_values(draw: st.DrawFn, shape: tuple[int, ...], lo: float = -5.0, hi: float = 5.0,
                 zeros: bool = False) -> Any:
    if shape == ():
        return draw(_elements(lo, hi, zeros))
    return _draw_array(draw, shape, _elements(lo, hi, zeros), _fill_values, lo, hi, zeros)


def _draw_magnitudes(draw: st.DrawFn, shape: tuple[int, ...], lo: float, hi: float) -> Any:
    """Values with lo <= |v| <= hi and either sign (e.g. away from the pole of 1/x)."""
    if shape == ():
        return draw(_signed(lo, hi))
    return _draw_array(draw, shape, _signed(lo, hi), _fill_signed, lo, hi)


def _draw_upstream(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    if shape == ():
        return draw(_UPSTREAM)
    return _draw_array(draw, shape, _UPSTREAM, _fill_upstream)


_BOOL = st.booleans()


@functools.cache
def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


@functools.cache
def _shapes(max_dims: int, max_side: int) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=1, max_dims=max_dims, max_side=max_side)


@functools.cache
def _bools(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return hnp.arrays(np.bool_, shape)


@functools.cache
def _half_steps(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return hnp.arrays(np.float64, shape, elements=st.integers(-6, 6))


@functools.cache
def _labels(n: int, c: int) -> st.SearchStrategy[Any]:
    """n integer labels in 0..c-1."""
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1))


@functools.cache
def gate_shapes() -> st.SearchStrategy[tuple[int, ...]]:
    """Scalars and 1-D to 4-D arrays with small sides."""
    return st.one_of(st.just(()), hnp.array_shapes(min_dims=1, max_dims=4, max_side=3))


@st.composite
def _gate_case(draw: st.DrawFn, name: str, large: bool) -> Case:
    if name == "SigmoidNeuron":
        d = draw(_ints(1, 4))
        w = _draw_values(draw, (d + 1,), lo=-4.0, hi=4.0)
        x = _draw_values(draw, (d,), lo=-4.0, hi=4.0)
        if large:  # a pre-activation of magnitude up to ~1000, driven by the bias
            w[-1] = _draw_magnitudes(draw, (), 50.0, 1000.0)
        return {"w": w, "x": x, "dout": _draw_upstream(draw, ())}
    shape = draw(gate_shapes())
    case: Case = {}
    if name == "ReciprocalGate":
        case["x"] = _draw_magnitudes(draw, shape, 0.1, 10.0)
    elif name == "ExpGate":
        case["x"] = _draw_values(draw, shape, lo=-8.0, hi=8.0)
    elif name == "SigmoidGate" and large:
        case["x"] = _draw_magnitudes(draw, shape, 30.0, 1000.0)
    else:
        case["x"] = _draw_values(draw, shape, lo=-10.0, hi=10.0)
    if name == "MaxGate":
        # Exact ties on purpose: the subgradient rule must accept any split of dz.
        other = _draw_values(draw, shape, lo=-10.0, hi=10.0)
        tie = draw(_BOOL) if shape == () else draw(_bools(shape))
        case["y"] = np.where(tie, case["x"], other) if shape != () else (
            case["x"] if tie else other
        )
    elif len(GATES[name].inputs) == 2:
        case["y"] = _draw_values(draw, shape, lo=-10.0, hi=10.0)
    const = GATES[name].const
    if const is not None:
        case[const] = draw(_floats(-5.0, 5.0))
    case["dout"] = _draw_upstream(draw, shape)
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
    n = draw(_ints(1, 4))
    rest = draw(_shapes(3, 3))
    d = int(np.prod(rest))
    m = d if draw(_BOOL) else draw(_ints(1, 5))  # square and non-square w
    return {
        "x": _draw_values(draw, (n, *rest)),
        "w": _draw_values(draw, (d, m)),
        "b": _draw_values(draw, (m,)),
        "dout": _draw_upstream(draw, (n, m)),
    }


@st.composite
def relu_cases(draw: st.DrawFn) -> Case:
    """x with exact zeros on purpose, of 1 to 4 dimensions."""
    shape = draw(_shapes(4, 4))
    return {"x": _draw_values(draw, shape, zeros=True), "dout": _draw_upstream(draw, shape)}


@st.composite
def _loss_case(draw: st.DrawFn, name: str, large: bool) -> Case:
    n, c = draw(_ints(1, 5)), draw(_ints(2, 5))
    if large:
        scores = _draw_values(draw, (n, c), lo=-1000.0, hi=1000.0)
    elif name == "svm_loss" and draw(_BOOL):
        # Half-integer scores make hinge margins of exactly zero likely.
        scores = draw(_half_steps((n, c))) / 2.0
    else:
        scores = _draw_values(draw, (n, c), lo=-10.0, hi=10.0)
    y = draw(_labels(n, c))
    return {"scores": scores, "y": y}


def loss_cases(name: str, *, large: bool = False) -> st.SearchStrategy[Case]:
    """Scores of shape (N, C) and integer labels y for ``softmax_loss`` or ``svm_loss``."""
    if name not in ("softmax_loss", "svm_loss"):
        raise ValueError(f"loss_cases(name={name!r}): expected 'softmax_loss' or 'svm_loss'")
    return _loss_case(name, large)


@st.composite
def _net_case(draw: st.DrawFn, layers: int, reg: bool) -> Case:
    n, d, c = draw(_ints(1, 4)), draw(_ints(1, 5)), draw(_ints(2, 4))
    hidden = [draw(_ints(1, 5)) for _ in range(layers - 1)]
    dims = [d, *hidden, c]
    params = {}
    for i in range(layers):
        params[f"W{i + 1}"] = _draw_values(draw, (dims[i], dims[i + 1]), lo=-2.0, hi=2.0)
        params[f"b{i + 1}"] = _draw_values(draw, (dims[i + 1],), lo=-2.0, hi=2.0)
    return {
        "X": _draw_values(draw, (n, d), lo=-3.0, hi=3.0),
        "y": draw(_labels(n, c)),
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
    return {"values": vals, "dout": _draw_upstream(draw, ())}
