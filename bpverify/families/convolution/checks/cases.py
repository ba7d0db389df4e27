"""Hypothesis strategies of the convolutional layers' cases: small shapes (N <= 2, C <= 3,
H, W <= 7, F <= 3), so that the student's four naive loops stay cheap.

Convolution: padding from 0 to 2 and strides from 1 to 3 that fit, ``(H + 2P - HH) % S == 0``
(shrinking goes to stride 1 and pad 0, so a minimal example keeps a pad above 0 only when the
mistake needs one); filters of 1 to 5 rows and columns, not always square.  Pooling: windows of
1 to 3 rows and columns, non-overlapping (stride = the window's larger side, what shrinking
goes to), sometimes with a gap.  Overlapping windows (a stride below the window's side: an
element can be the max of several windows, whose gradients add) have their own strategy, as the
course's own notebook never draws them; so do ties, whole numbers from -2 to 2, so that windows
hold several equal maxima.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify import strategies

__all__ = ["conv_cases", "pool_cases"]

Case = dict[str, Any]
MAX_SIDE = 7
MAX_FILTER = 5


def _side(draw: st.DrawFn, padded: int, stride: int) -> int:
    """A filter side k <= padded that fits: (padded - k) % stride == 0."""
    fits = [k for k in range(1, min(padded, MAX_FILTER) + 1) if (padded - k) % stride == 0]
    return fits[draw(st.integers(0, len(fits) - 1))]


@st.composite
def _conv_case(draw: st.DrawFn) -> Case:
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    pad, stride = draw(st.integers(0, 2)), draw(st.integers(1, 3))
    hh, ww = _side(draw, h + 2 * pad, stride), _side(draw, w + 2 * pad, stride)
    ho, wo = 1 + (h + 2 * pad - hh) // stride, 1 + (w + 2 * pad - ww) // stride
    return {"x": draw(strategies.values((n, c, h, w), lo=-3.0, hi=3.0)),
            "w": draw(strategies.values((f, c, hh, ww), lo=-2.0, hi=2.0)),
            "b": draw(strategies.values((f,), lo=-2.0, hi=2.0)),
            "conv_param": {"stride": stride, "pad": pad},
            "dout": draw(strategies.values((n, f, ho, wo), lo=-3.0, hi=3.0))}


@functools.cache
def conv_cases() -> st.SearchStrategy[Case]:
    """x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param and dout (N, F, H', W')."""
    return _conv_case()


@st.composite
def _pool_case(draw: st.DrawFn, ties: bool, overlap: bool) -> Case:
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    lo = 2 if ties or overlap else 1  # a tie, or an overlap, needs windows of two or more
    ph = draw(st.integers(lo, 3))
    pw = draw(st.integers(1 if ph > 1 else lo, 3))
    side = max(ph, pw)
    if overlap:
        stride = draw(st.integers(1, side - 1))
    else:
        stride = side + (0 if ties else draw(st.integers(0, 1)))
    ho = draw(st.integers(1, 1 + (MAX_SIDE - ph) // stride))
    wo = draw(st.integers(1, 1 + (MAX_SIDE - pw) // stride))
    h, w = ph + stride * (ho - 1), pw + stride * (wo - 1)
    if ties:
        x = np.round(draw(strategies.values((n, c, h, w), lo=-2.0, hi=2.0))) + 0.0
    else:
        x = draw(strategies.values((n, c, h, w), lo=-3.0, hi=3.0))
    return {"x": x, "pool_param": {"pool_height": ph, "pool_width": pw, "stride": stride},
            "dout": draw(strategies.values((n, c, ho, wo), lo=-3.0, hi=3.0))}


@functools.cache
def pool_cases(*, ties: bool = False, overlap: bool = False) -> st.SearchStrategy[Case]:
    """x (N, C, H, W), pool_param and dout (N, C, H', W') in non-overlapping windows;
    ``ties``: whole numbers from -2 to 2 in windows of two elements or more; ``overlap``:
    windows that overlap (a stride below the window's larger side)."""
    return _pool_case(ties, overlap)
