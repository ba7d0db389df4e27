"""The cases the normalization checks draw: small batches with low-variance features.

A case holds x, gamma, beta, the upstream gradient dout, eps, and for the layers with running
averages the momentum and the running mean and variance a train-mode call starts from.  Each
normalized group (a feature of batch norm, an example of layer norm, a channel, a group) gets
its own scale, and one of them is often tiny (1e-2 or 1e-3: a variance of 1e-6 is below the
course's eps of 1e-5), so that eps matters and leaving it out shows.  Batches have at least
two examples (and two or more features) wherever the statistics run over the batch.  Shapes,
eps, momentum and scales shrink to the simplest: scale 1, eps 1e-5, momentum 0.9.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify.families.normalization.contract import NormSpec
from bpverify.strategies import values

__all__ = ["norm_cases"]

Case = dict[str, Any]

_SCALES = st.sampled_from([1.0, 1e-3, 1e-2, 10.0])
_EPS = st.sampled_from([1e-5, 1e-3, 0.1])
_MOMENTUM = st.sampled_from([0.9, 0.5, 0.99, 0.0])


def _shape(draw: st.DrawFn, spec: NormSpec) -> tuple[tuple[int, ...], int]:
    """(x's shape, G) for the normalization."""
    side = st.integers(1, 3)
    # Two or more along both axes of (N, D): with one feature (or one example) the
    # normalization over the other axis is 0 everywhere, and its mistake would look like any
    # other gradient that is 0.
    if spec.base == "batchnorm":
        return (draw(st.integers(2, 6)), draw(st.integers(2, 4))), 1
    if spec.base == "layernorm":
        return (draw(st.integers(2, 4)), draw(st.integers(2, 6))), 1
    if spec.base == "spatial_batchnorm":
        n, c, h, w = draw(side), draw(side), draw(side), draw(side)
        if n * h * w < 2:
            n = 2
        return (n, c, h, w), 1
    groups, per = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    n, h, w = draw(st.integers(1, 2)), draw(side), draw(side)
    if per * h * w < 2:
        w = 2
    return (n, groups * per, h, w), groups


def _group_shape(spec: NormSpec, shape: tuple[int, ...], groups: int) -> tuple[int, ...]:
    """The shape of one scale per normalized group, broadcastable to x (grouped for G)."""
    if spec.base == "batchnorm":
        return (1, shape[1])
    if spec.base == "layernorm":
        return (shape[0], 1)
    if spec.base == "spatial_batchnorm":
        return (1, shape[1], 1, 1)
    return (shape[0], groups, 1, 1, 1)


def _case(draw: st.DrawFn, spec: NormSpec) -> Case:
    shape, groups = _shape(draw, spec)
    base = draw(values(shape, lo=-3.0, hi=3.0))
    per = _group_shape(spec, shape, groups)
    scale = np.array([draw(_SCALES) for _ in range(int(np.prod(per)))]).reshape(per)
    offset = draw(values(per, lo=-2.0, hi=2.0))
    grouped = base.reshape(shape[0], groups, -1, *shape[2:]) if spec.grouped else base
    x = (grouped * scale + offset).reshape(shape)
    c = shape[1]
    gamma = draw(values((c,), lo=-2.0, hi=2.0))
    gamma = np.where(np.abs(gamma) < 0.25, 1.5, gamma)  # gamma = 0 would hide dx
    case: Case = {"x": x, "gamma": gamma, "beta": draw(values((c,), lo=-2.0, hi=2.0)),
                  "dout": draw(values(shape, lo=-3.0, hi=3.0)), "eps": draw(_EPS)}
    if spec.grouped:
        case["G"] = groups
    if spec.running:
        case["momentum"] = draw(_MOMENTUM)
        case["running_mean"] = draw(values((c,), lo=-2.0, hi=2.0))
        case["running_var"] = draw(values((c,), lo=0.1, hi=3.0))
    return case


@functools.cache
def norm_cases(spec: NormSpec) -> st.SearchStrategy[Case]:
    """Cases for one normalization (made once per spec: Hypothesis labels every new
    strategy object on its first draw)."""
    return st.composite(lambda draw: _case(draw, spec))()
