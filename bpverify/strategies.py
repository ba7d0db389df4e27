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

from bpverify.contract import GATES

__all__ = [
    "affine_cases",
    "circuit_cases",
    "gate_cases",
    "gate_shapes",
    "labels",
    "loss_cases",
    "net_cases",
    "relu_cases",
    "values",
]

Case = dict[str, Any]


#: Magnitudes below this become exact zeros: 1e-50 says nothing a teacher cares about, and in
#: float32 (CS231n's dtype) it underflows, which would only test the dtype, not the gradient.
TINY = 1e-6

# How a case is drawn, and why it is cheap (issue 13).  Hypothesis makes the *structure* of a
# case: its shapes, the first HEAD elements of every array (one choice each, so a small array,
# which is what a shrunk example has, is drawn and shrunk element by element), labels, ties,
# and for the rest of the bulk one simplicity level and one seed per case.  A numpy generator
# seeded from that choice fills every array's remaining elements at that level.  Every choice is
# a single draw from a strategy object made once: each layer of strategy (map, one_of,
# tuples, composite) and each choice costs Hypothesis some 10-40 us, and a case used to take
# 20-60 of them.  Shrinking is unchanged in what it reaches: shapes shrink to the smallest,
# head elements to simple values, the level to 0 (whole numbers) and the seed to 0.

#: The first elements of an array drawn one by one by Hypothesis; the rest come from the case's
#: seeded generator.  Drawing every element of a 100-element array cost ~10 ms an example.
HEAD = 4
_LEVELS = 8  #: 0: whole numbers, 1: one decimal, 2-7: full precision
_LEVEL = st.integers(0, _LEVELS - 1)
_SEEDS = st.integers(0, 2**32 - 1)
_BOOL = st.booleans()


@functools.cache
def _raw_floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@functools.cache
def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


def _untiny(v: float) -> float:
    return 0.0 if abs(v) < TINY else v


class _Bulk:
    """A case's bulk values: one level and one seeded generator, drawn when first needed."""

    __slots__ = ("_draw", "_rng", "level")

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw
        self._rng: np.random.Generator | None = None
        self.level = 0

    def rng(self) -> np.random.Generator:
        if self._rng is None:
            self.level = self._draw(_LEVEL)
            self._rng = np.random.default_rng(self._draw(_SEEDS))
        return self._rng


# --- one element: a single Hypothesis choice where possible --------------------------------


def _value(draw: st.DrawFn, lo: float, hi: float, zeros: bool) -> float:
    if zeros and draw(_BOOL):
        return 0.0
    return _untiny(draw(_raw_floats(lo, hi)))


def _magnitude(draw: st.DrawFn, lo: float, hi: float) -> float:
    """lo <= |v| <= hi, either sign; shrinks to -lo's side first, as it always has."""
    sign = 1.0 if draw(_BOOL) else -1.0
    return sign * draw(_raw_floats(lo, hi))


# Away from zero, so that no element of a gradient can hide behind a zero upstream value, and
# never +-1: a minimal example then shrinks to dout = 2, where "forgot to multiply by dout"
# (off by a factor 2) and "sign flipped" (off by -1) look different.  Half of the upstream
# values are simple steps, half any magnitude in [0.25, 3] (None: draw one).
_UPSTREAM_STEPS = [2.0, 0.5, 1.5, 3.0]
_UPSTREAM_PICK = st.sampled_from([*_UPSTREAM_STEPS, None, None, None, None])


def _upstream_value(draw: st.DrawFn) -> float:
    sign = -1.0 if draw(_BOOL) else 1.0
    mag = draw(_UPSTREAM_PICK)
    if mag is None:
        mag = draw(_raw_floats(0.25, 3.0))
        if mag == 1.0:
            mag = 2.0
    return sign * mag


# --- the bulk: the rest of an array from the case's generator ------------------------------


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


def _array(draw: st.DrawFn, bulk: _Bulk, shape: tuple[int, ...], dtype: Any,
           head: Callable[[], Any], fill: Callable[..., Any], *args: Any) -> Any:
    size = math.prod(shape)
    out = np.empty(size, dtype=dtype)
    for i in range(min(size, HEAD)):
        out[i] = head()
    if size > HEAD:
        rng = bulk.rng()
        out[HEAD:] = fill(rng, bulk.level, size - HEAD, *args)
    return out.reshape(shape)


def _draw_values(draw: st.DrawFn, bulk: _Bulk, shape: tuple[int, ...], lo: float = -5.0,
                 hi: float = 5.0, zeros: bool = False) -> Any:
    if shape == ():
        return _value(draw, lo, hi, zeros)
    return _array(draw, bulk, shape, np.float64, lambda: _value(draw, lo, hi, zeros),
                  _fill_values, lo, hi, zeros)


def _draw_magnitudes(draw: st.DrawFn, bulk: _Bulk, shape: tuple[int, ...], lo: float,
                     hi: float) -> Any:
    """Values with lo <= |v| <= hi and either sign (e.g. away from the pole of 1/x)."""
    if shape == ():
        return _magnitude(draw, lo, hi)
    return _array(draw, bulk, shape, np.float64, lambda: _magnitude(draw, lo, hi),
                  _fill_signed, lo, hi)


def _draw_upstream(draw: st.DrawFn, bulk: _Bulk, shape: tuple[int, ...]) -> Any:
    if shape == ():
        return _upstream_value(draw)
    return _array(draw, bulk, shape, np.float64, lambda: _upstream_value(draw), _fill_upstream)


def _fill_ties(rng: np.random.Generator, level: int, n: int) -> Any:
    return rng.random(n) < rng.choice([0.0, 0.25, 0.5])


def _draw_ties(draw: st.DrawFn, bulk: _Bulk, shape: tuple[int, ...]) -> Any:
    """Where max's two inputs are made equal (shrinks to nowhere)."""
    return _array(draw, bulk, shape, np.bool_, lambda: draw(_BOOL), _fill_ties)


def _fill_half_steps(rng: np.random.Generator, level: int, n: int) -> Any:
    return rng.integers(-6, 7, n).astype(np.float64)


def _draw_labels(draw: st.DrawFn, n: int, c: int) -> Any:
    ints = _ints(0, c - 1)
    return np.array([draw(ints) for _ in range(n)], dtype=np.int64)


def _draw_shape(draw: st.DrawFn, min_dims: int, max_dims: int, max_side: int) -> tuple[int, ...]:
    side = _ints(1, max_side)
    return tuple(draw(side) for _ in range(draw(_ints(min_dims, max_dims))))


# --- the public strategies -----------------------------------------------------------------


@functools.cache
def _composite(drawer: Callable[..., Any], *args: Any) -> st.SearchStrategy[Any]:
    """A strategy made once per arguments: Hypothesis validates (and labels) every new strategy
    object on its first draw, which cost more than the draw itself when made afresh."""
    return st.composite(lambda draw: drawer(draw, *args))()


def _values_case(draw: st.DrawFn, shape: tuple[int, ...], lo: float, hi: float,
                 zeros: bool) -> Any:
    return _draw_values(draw, _Bulk(draw), shape, lo, hi, zeros)


def values(
    shape: tuple[int, ...], *, lo: float = -5.0, hi: float = 5.0, zeros: bool = False
) -> st.SearchStrategy[Any]:
    """A Python float for shape (), else a float64 array; ``zeros`` mixes in exact zeros."""
    shape = tuple(int(s) for s in shape)
    return _composite(_values_case, shape, float(lo), float(hi), bool(zeros))


def _labels_case(draw: st.DrawFn, n: int, c: int) -> Any:
    return _draw_labels(draw, n, c)


def labels(n: int, c: int) -> st.SearchStrategy[Any]:
    """``n`` integer class labels in ``0..c-1`` (int64), shrinking to all zeros."""
    if not (n >= 0 and c >= 1):
        raise ValueError(f"labels(n={n!r}, c={c!r}): expected n >= 0 and c >= 1")
    return _composite(_labels_case, int(n), int(c))


def _gate_shape(draw: st.DrawFn) -> tuple[int, ...]:
    # Half scalars (Python floats are a contract case of their own), half 1-D to 4-D arrays;
    # a scalar is the simplest, so False (what a boolean shrinks to) is the scalar.
    return _draw_shape(draw, 1, 4, 3) if draw(_BOOL) else ()


def gate_shapes() -> st.SearchStrategy[tuple[int, ...]]:
    """Scalars and 1-D to 4-D arrays with small sides."""
    return _composite(_gate_shape)


def _gate_case(draw: st.DrawFn, name: str, large: bool, smallest: float) -> Case:
    bulk = _Bulk(draw)
    if name == "SigmoidNeuron":
        d = draw(_ints(1, 4))
        w = _draw_values(draw, bulk, (d + 1,), lo=-4.0, hi=4.0)
        x = _draw_values(draw, bulk, (d,), lo=-4.0, hi=4.0)
        if large:  # a pre-activation of magnitude up to ~1000, driven by the bias
            w[-1] = _magnitude(draw, 50.0, 1000.0)
        return {"w": w, "x": x, "dout": _upstream_value(draw)}
    shape = _gate_shape(draw)
    case: Case = {}
    if name == "ReciprocalGate":
        case["x"] = _draw_magnitudes(draw, bulk, shape, 0.1, 10.0)
    elif name == "ExpGate":
        case["x"] = _draw_values(draw, bulk, shape, lo=-8.0, hi=8.0)
    elif name == "SigmoidGate" and large:
        case["x"] = _draw_magnitudes(draw, bulk, shape, smallest, 1000.0)
    else:
        case["x"] = _draw_values(draw, bulk, shape, lo=-10.0, hi=10.0)
    if name == "MaxGate":
        # Exact ties on purpose: the subgradient rule must accept any split of dz.
        other = _draw_values(draw, bulk, shape, lo=-10.0, hi=10.0)
        if shape == ():
            case["y"] = case["x"] if draw(_BOOL) else other
        else:
            case["y"] = np.where(_draw_ties(draw, bulk, shape), case["x"], other)
    elif len(GATES[name].inputs) == 2:
        case["y"] = _draw_values(draw, bulk, shape, lo=-10.0, hi=10.0)
    const = GATES[name].const
    if const is not None:
        case[const] = _value(draw, -5.0, 5.0, False)
    case["dout"] = _draw_upstream(draw, bulk, shape)
    return case


def gate_cases(name: str, *, large: bool = False,
               smallest: float = 30.0) -> st.SearchStrategy[Case]:
    """Inputs, constructor constant and upstream gradient for the gate ``name``.

    ``large=True`` draws the large magnitudes (|x| up to ~1000) where only a numerically
    stable sigmoid stays finite, from ``smallest`` on (SigmoidGate).
    """
    if name not in GATES:
        raise ValueError(f"gate_cases(name={name!r}): expected one of {sorted(GATES)}")
    if not 0.0 < smallest <= 1000.0:
        raise ValueError(f"gate_cases(smallest={smallest!r}): expected 0 < smallest <= 1000")
    return _composite(_gate_case, name, bool(large), float(smallest))


def _affine_case(draw: st.DrawFn) -> Case:
    bulk = _Bulk(draw)
    n = draw(_ints(1, 4))
    rest = _draw_shape(draw, 1, 3, 3)
    d = math.prod(rest)
    m = d if draw(_BOOL) else draw(_ints(1, 5))  # square and non-square w
    return {
        "x": _draw_values(draw, bulk, (n, *rest)),
        "w": _draw_values(draw, bulk, (d, m)),
        "b": _draw_values(draw, bulk, (m,)),
        "dout": _draw_upstream(draw, bulk, (n, m)),
    }


def affine_cases() -> st.SearchStrategy[Case]:
    """x of shape (N, d1, ..., dk) with k from 1 to 3, w of shape (D, M), b of shape (M,)."""
    return _composite(_affine_case)


def _relu_case(draw: st.DrawFn) -> Case:
    bulk = _Bulk(draw)
    shape = _draw_shape(draw, 1, 4, 4)
    return {"x": _draw_values(draw, bulk, shape, zeros=True),
            "dout": _draw_upstream(draw, bulk, shape)}


def relu_cases() -> st.SearchStrategy[Case]:
    """x with exact zeros on purpose, of 1 to 4 dimensions."""
    return _composite(_relu_case)


def _loss_case(draw: st.DrawFn, name: str, large: bool) -> Case:
    bulk = _Bulk(draw)
    n, c = draw(_ints(1, 5)), draw(_ints(2, 5))
    if large:
        scores = _draw_values(draw, bulk, (n, c), lo=-1000.0, hi=1000.0)
    elif name == "svm_loss" and draw(_BOOL):
        # Half-integer scores make hinge margins of exactly zero likely.
        steps = _ints(-6, 6)
        scores = _array(draw, bulk, (n, c), np.float64, lambda: float(draw(steps)),
                        _fill_half_steps) / 2.0
    else:
        scores = _draw_values(draw, bulk, (n, c), lo=-10.0, hi=10.0)
    return {"scores": scores, "y": _draw_labels(draw, n, c)}


def loss_cases(name: str, *, large: bool = False) -> st.SearchStrategy[Case]:
    """Scores of shape (N, C) and integer labels y for ``softmax_loss`` or ``svm_loss``."""
    if name not in ("softmax_loss", "svm_loss"):
        raise ValueError(f"loss_cases(name={name!r}): expected 'softmax_loss' or 'svm_loss'")
    return _composite(_loss_case, name, bool(large))


def _net_case(draw: st.DrawFn, layers: int, reg: bool) -> Case:
    bulk = _Bulk(draw)
    n, d, c = draw(_ints(1, 4)), draw(_ints(1, 5)), draw(_ints(2, 4))
    hidden = [draw(_ints(1, 5)) for _ in range(layers - 1)]
    dims = [d, *hidden, c]
    params = {}
    for i in range(layers):
        params[f"W{i + 1}"] = _draw_values(draw, bulk, (dims[i], dims[i + 1]), lo=-2.0, hi=2.0)
        params[f"b{i + 1}"] = _draw_values(draw, bulk, (dims[i + 1],), lo=-2.0, hi=2.0)
    return {
        "X": _draw_values(draw, bulk, (n, d), lo=-3.0, hi=3.0),
        "y": _draw_labels(draw, n, c),
        "params": params,
        "dims": dims,
        "reg": draw(_raw_floats(0.05, 2.0)) if reg else 0.0,
    }


def net_cases(name: str, *, reg: bool = False) -> st.SearchStrategy[Case]:
    """Data, labels, parameters and reg for ``TwoLayerNet`` or ``ThreeLayerNet``."""
    layers = {"TwoLayerNet": 2, "ThreeLayerNet": 3}.get(name)
    if layers is None:
        raise ValueError(f"net_cases(name={name!r}): expected 'TwoLayerNet' or 'ThreeLayerNet'")
    return _composite(_net_case, layers, bool(reg))


def _circuit_case(draw: st.DrawFn, inputs: tuple[str, ...]) -> Case:
    vals = {name: _value(draw, -4.0, 4.0, False) for name in inputs}
    return {"values": vals, "dout": _upstream_value(draw)}


def circuit_cases(inputs: tuple[str, ...]) -> st.SearchStrategy[Case]:
    """Scalar values for a circuit's inputs and a (non-unit) upstream gradient."""
    return _composite(_circuit_case, tuple(inputs))
