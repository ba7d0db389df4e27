"""The book's Convolution and Pooling classes (chapter 7), judged by the core's JAX oracle.

``Convolution(W, b, stride, pad)``: W of shape (FN, C, FH, FW), b of shape (FN,), a
correlation of the zero-padded input with each filter (no flip), ``dW`` and ``db`` kept on the
instance.  ``Pooling(pool_h, pool_w, stride)``: max pooling, never given a pad (the book's own
forward leaves pad out of its output's shape).  Shapes stay small (N <= 2, C <= 3, H, W <= 7),
strides fit (``(H + 2 pad - FH) % stride == 0``), so that a class written with four loops is
cheap and an im2col one is judged on the same cases.

The subgradient rule of max pooling: where a window holds several equal maxima, its dout may
be split among them in any shares from 0 to 1 adding up to 1 (all to the first, as
``np.argmax`` does, or equal parts); the full dout to each is not a gradient.  Only the ties
check draws ties (whole numbers, non-overlapping windows); the other checks set them aside.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.families.layer_classes.checks.chapter7 import (
    INTERFACE,
    Layer7,
    run,
)
from bpverify.grading import conv_oracles
from bpverify.grading.checks.base import Case, Check, rounded
from bpverify.submission import Executor

__all__ = ["CONVOLUTION", "POOLING", "pool_windows", "pooling_checks", "ties_of"]

MAX_SIDE = 7
MAX_FILTER = 5


def _fitting(draw: st.DrawFn, padded: int, stride: int) -> int:
    fits = [k for k in range(1, min(padded, MAX_FILTER) + 1) if (padded - k) % stride == 0]
    return fits[draw(st.integers(0, len(fits) - 1))]


@st.composite
def _conv_case(draw: st.DrawFn) -> Case:
    n, c, fn = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    pad, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    fh, fw = _fitting(draw, h + 2 * pad, stride), _fitting(draw, w + 2 * pad, stride)
    oh, ow = 1 + (h + 2 * pad - fh) // stride, 1 + (w + 2 * pad - fw) // stride
    return {"x": draw(strategies.values((n, c, h, w), lo=-3.0, hi=3.0)),
            "W": draw(strategies.values((fn, c, fh, fw), lo=-2.0, hi=2.0)),
            "b": draw(strategies.values((fn,), lo=-2.0, hi=2.0)),
            "stride": stride, "pad": pad,
            "dout": draw(strategies.values((n, fn, oh, ow), lo=-3.0, hi=3.0))}


@st.composite
def _pool_case(draw: st.DrawFn, ties: bool) -> Case:
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    lo = 2 if ties else 1  # a tie needs two elements in a window
    ph = draw(st.integers(lo, 3))
    pw = draw(st.integers(1 if ph > 1 else lo, 3))
    side = max(ph, pw)
    if not ties and side > 1 and draw(st.booleans()):
        stride = draw(st.integers(1, side - 1))  # overlapping windows
    else:
        stride = side + (0 if ties else draw(st.integers(0, 1)))
    oh = draw(st.integers(1, 1 + (MAX_SIDE - ph) // stride))
    ow = draw(st.integers(1, 1 + (MAX_SIDE - pw) // stride))
    h, w = ph + stride * (oh - 1), pw + stride * (ow - 1)
    x = draw(strategies.values((n, c, h, w), lo=-3.0, hi=3.0))
    if ties:
        x = np.round(x * 2.0 / 3.0) + 0.0  # whole numbers from -2 to 2
    return {"x": x, "pool_h": ph, "pool_w": pw, "stride": stride,
            "dout": draw(strategies.values((n, c, oh, ow), lo=-3.0, hi=3.0))}


@functools.cache
def conv_cases() -> st.SearchStrategy[Case]:
    """x (N, C, H, W), W (FN, C, FH, FW), b (FN,), stride, pad and dout (N, FN, OH, OW)."""
    return _conv_case()


@functools.cache
def pool_cases(ties: bool = False) -> st.SearchStrategy[Case]:
    """x (N, C, H, W), pool_h, pool_w, stride and dout (N, C, OH, OW); ``ties``: whole numbers
    in non-overlapping windows of two elements or more."""
    return _pool_case(ties)


def _conv_oracle(case: Case, dtype: np.dtype[Any], _: Any) -> tuple[Any, list[Any],
                                                                   dict[str, Any]]:
    r = lambda v: rounded(v, dtype)  # noqa: E731
    out, (dx, dw, db) = conv_oracles.conv(r(case["x"]), r(case["W"]), r(case["b"]),
                                          {"stride": case["stride"], "pad": case["pad"]},
                                          r(case["dout"]))
    return out, [dx], {"dW": dw, "db": db}


def _pool_param(case: Case) -> dict[str, int]:
    return {"pool_height": case["pool_h"], "pool_width": case["pool_w"],
            "stride": case["stride"]}


def _pool_oracle(case: Case, dtype: np.dtype[Any], _: Any) -> tuple[Any, list[Any],
                                                                   dict[str, Any]]:
    out, (dx,) = conv_oracles.pool(rounded(case["x"], dtype), _pool_param(case),
                                   rounded(case["dout"], dtype))
    return out, [dx], {}


def _conv_shape(case: Case) -> tuple[int, ...]:
    n, _, h, w = case["x"].shape
    fn, _, fh, fw = case["W"].shape
    s, p = case["stride"], case["pad"]
    return (n, fn, 1 + (h + 2 * p - fh) // s, 1 + (w + 2 * p - fw) // s)


def _pool_shape(case: Case) -> tuple[int, ...]:
    n, c, h, w = case["x"].shape
    s = case["stride"]
    return (n, c, 1 + (h - case["pool_h"]) // s, 1 + (w - case["pool_w"]) // s)


def pool_windows(case: Case) -> Iterator[tuple[int, int, slice, slice]]:
    """(i, j, rows, cols) of every pooling window of the case's x."""
    ph, pw, s = case["pool_h"], case["pool_w"], case["stride"]
    _, _, h, w = np.shape(case["x"])
    for i in range(1 + (h - ph) // s):
        for j in range(1 + (w - pw) // s):
            yield i, j, slice(i * s, i * s + ph), slice(j * s, j * s + pw)


def ties_of(case: Case) -> bool:
    """Some window of the case's x holds two equal maxima."""
    x = np.asarray(case["x"])
    for _, _, rows, cols in pool_windows(case):
        win = x[:, :, rows, cols].reshape(x.shape[0], x.shape[1], -1)
        if ((win == win.max(axis=2, keepdims=True)).sum(axis=2) > 1).any():
            return True
    return False


def _tie_split(case: Case, dtype: np.dtype[Any], got: Any, expected: Any) -> Any:
    """``expected`` with each tied window's part replaced by the submission's, where that is a
    valid split of the window's dout (non-overlapping windows only)."""
    x, d = rounded(case["x"], dtype), np.asarray(rounded(case["dout"], dtype), dtype=float)
    g, out = np.asarray(got, dtype=np.float64), np.array(expected, dtype=np.float64)
    tol = 1e-6 * max(1.0, float(np.max(np.abs(d), initial=0.0)))
    for i, j, rows, cols in pool_windows(case):
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                win = np.asarray(x)[n, c, rows, cols]
                top = win == win.max()
                if top.sum() < 2:
                    continue
                part, up = g[n, c, rows, cols], d[n, c, i, j]
                lo, hi = min(0.0, up) - tol, max(0.0, up) + tol
                if (np.all(np.abs(part[~top]) <= tol) and np.all((part[top] >= lo)
                                                                  & (part[top] <= hi))
                        and abs(part[top].sum() - up) <= tol):
                    out[n, c, rows, cols] = np.where(top, part, 0.0)
    return out


CONVOLUTION = Layer7(
    "Convolution", conv_cases, _conv_oracle, _conv_shape,
    "(N, FN, 1 + (H + 2 pad - FH) / stride, 1 + (W + 2 pad - FW) / stride)")

POOLING = Layer7(
    "Pooling", pool_cases, _pool_oracle, _pool_shape,
    "(N, C, 1 + (H - pool_h) / stride, 1 + (W - pool_w) / stride)",
    usable_case=lambda case: not ties_of(case))


def pooling_checks() -> list[Check]:
    """The shared checks, then ties: at equal maxima, dout is split among them."""
    tied = Layer7(POOLING.name, POOLING.cases, POOLING.oracle, POOLING.out_shape,
                  POOLING.shape_hint, adjust_dx=_tie_split)

    def ties(ex: Executor, case: Case) -> bool:
        if not tied.usable(ex):
            return False
        assume(ties_of(case))
        fwd, bwd = run(ex, tied.name, case, tied.steps(case))
        tied.judge_backward(case, fwd["out"], bwd["grads"], bwd["params"])
        return True

    checks = POOLING.checks()
    checks.insert(3, Check("ties", pool_cases(ties=True), ties,
                           "at equal maxima in a window, dout is split among them (all to "
                           "one, or shares adding up to dout)", unjudged=INTERFACE))
    return checks
