"""Hypothesis strategies for the recurrent layers: small sizes, long enough sequences.

Sizes stay small (N <= 3 sequences, T <= 4 steps, D, H, M <= 5, V <= 6 words) so that a
minimal example can be read, and the numerical check stays cheap.  What the cases make sure
of: sequences of at least two steps (a gradient carried from step t+1, and weights used at
every step, show only then), a word index that occurs twice (``dW[x] += dout`` loses one of
the two), masks with zeros and with ones, and upstream gradients that differ per element.
Weights are drawn small enough that tanh and the gates are not saturated: where tanh' is near
0 every backward looks right.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify.strategies import values

__all__ = ["captioning_cases", "layer_cases", "loss_cases"]

Case = dict[str, Any]

_N = st.integers(1, 3)
_T = st.integers(2, 4)
_SIDE = st.integers(1, 5)
_V = st.integers(2, 6)


def _state(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return values(shape, lo=-1.0, hi=1.0)


def _weights(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return values(shape, lo=-0.6, hi=0.6)


def _upstream(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    return values(shape, lo=-2.0, hi=2.0)


def _indices(draw: st.DrawFn, n: int, t: int, v: int) -> np.ndarray:
    """Word indices in 0..v-1 where the last word repeats the first (np.add.at's case)."""
    flat = np.array([draw(st.integers(0, v - 1)) for _ in range(n * t)], dtype=np.int64)
    flat[-1] = flat[0]
    return flat.reshape(n, t)


@st.composite
def _case(draw: st.DrawFn, base: str) -> Case:
    n, d, h = draw(_N), draw(_SIDE), draw(_SIDE)
    t = draw(_T)
    if base == "rnn_step":
        return {"x": draw(_state((n, d))), "prev_h": draw(_state((n, h))),
                "Wx": draw(_weights((d, h))), "Wh": draw(_weights((h, h))),
                "b": draw(_weights((h,))), "dnext_h": draw(_upstream((n, h)))}
    if base == "lstm_step":
        return {"x": draw(_state((n, d))), "prev_h": draw(_state((n, h))),
                "prev_c": draw(_state((n, h))), "Wx": draw(_weights((d, 4 * h))),
                "Wh": draw(_weights((h, 4 * h))), "b": draw(_weights((4 * h,))),
                "dnext_h": draw(_upstream((n, h))), "dnext_c": draw(_upstream((n, h)))}
    if base in ("rnn", "lstm"):
        k = 4 if base == "lstm" else 1
        return {"x": draw(_state((n, t, d))), "h0": draw(_state((n, h))),
                "Wx": draw(_weights((d, k * h))), "Wh": draw(_weights((h, k * h))),
                "b": draw(_weights((k * h,))), "dh": draw(_upstream((n, t, h)))}
    if base == "word_embedding":
        v = draw(_V)
        return {"x": _indices(draw, n, t, v), "W": draw(_state((v, d))),
                "dout": draw(_upstream((n, t, d)))}
    if base == "temporal_affine":
        m = draw(_SIDE)
        return {"x": draw(_state((n, t, d))), "w": draw(_weights((d, m))),
                "b": draw(_weights((m,))), "dout": draw(_upstream((n, t, m)))}
    raise ValueError(f"no cases for layer {base!r}")


def layer_cases(base: str) -> st.SearchStrategy[Case]:
    """The inputs of ``<base>_forward`` and the upstream gradients of its backward."""
    return _case(base)


@st.composite
def _loss_case(draw: st.DrawFn) -> Case:
    n, t, v = draw(_N), draw(_T), draw(_V)
    mask = np.array([draw(st.booleans()) for _ in range(n * t)], dtype=bool)
    mask[0], mask[-1] = True, False  # at least one step counts and one is masked out
    return {"x": draw(values((n, t, v), lo=-4.0, hi=4.0)),
            "y": _indices(draw, n, t, v), "mask": mask.reshape(n, t).astype(np.int64)}


def loss_cases() -> st.SearchStrategy[Case]:
    """Scores (N, T, V), word indices y (N, T) and a mask (N, T) with zeros, as 0/1 integers
    (the scenario hands it to the submission as booleans, as the course does)."""
    return _loss_case()


@st.composite
def _captioning_case(draw: st.DrawFn) -> Case:
    cell = draw(st.sampled_from(["rnn", "lstm"]))
    k = 4 if cell == "lstm" else 1
    n, t = draw(_N), draw(_T)
    d, w, h = draw(_SMALL), draw(_SMALL), draw(_SMALL)
    v = draw(st.integers(4, 6))
    captions = _indices(draw, n, t + 1, v)
    captions[:, 0] = 1  # <START>
    captions[0, 1] = 3  # a word to predict ...
    captions[-1, -1] = 0  # ... and a <NULL> to mask out
    params = {"W_proj": draw(_weights((d, h))), "b_proj": draw(_weights((h,))),
              "W_embed": draw(_state((v, w))), "Wx": draw(_weights((w, k * h))),
              "Wh": draw(_weights((h, k * h))), "b": draw(_weights((k * h,))),
              "W_vocab": draw(_state((h, v))), "b_vocab": draw(_weights((v,)))}
    return {"cell_type": cell, "dims": {"D": d, "W": w, "H": h, "V": v}, "params": params,
            "features": draw(_state((n, d))), "captions": captions}


_SMALL = st.integers(1, 4)


def captioning_cases() -> st.SearchStrategy[Case]:
    """A CaptioningRNN of either cell type, its parameters, image features (N, D) and
    captions (N, T + 1) that begin with <START>, repeat a word and end one with <NULL>."""
    return _captioning_case()
