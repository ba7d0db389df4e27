"""The JAX oracle of convolution and max pooling, in float64: CS231n's naive layers and
ThreeLayerConvNet (the convolution family) and the book's Convolution and Pooling classes (the
layer-classes family) are judged by this one oracle.

Convolution is ``lax.conv_general_dilated`` as a correlation (no filter flip, CS231n's
convention), max pooling is ``lax.reduce_window``, and gradients are ``jax.vjp``.  XLA compiles
every new shape, so inputs are zero-padded to fixed buckets, exactly: the convolution's own
padding is applied first, then the padded input is embedded in a larger zero array and each
filter in a larger zero filter (zeros add nothing to a correlation at the outputs kept), and
pooling pads with a very negative value (never a window's max) at the bottom and right.
Outputs and gradients are cut back.  Strides are taken outside XLA: a layer of stride S is the
stride-1 layer read at every S-th output, and its gradient is the stride-1 layer's pulled back
from a dout that is zero elsewhere.  Every shape the strategies draw falls in one bucket, so a
run compiles the convolution once and pooling once per window shape (nine at most).  Every
oracle runs inside the core's :func:`~bpverify.grading.oracles.float64` (64-bit types on the
CPU, the disk cache), which leaves a user's JAX settings as they were.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bpverify.grading.oracles import float64

__all__ = ["conv", "pool"]

Array = Any
#: Buckets: batch, channels, filters, padded side, filter side (the strategies stay within).
_N, _C, _F, _SIDE, _K = 2, 3, 3, 16, 5
_LOW = -1e30  # padding for max pooling: never the max of a window


def _fit(n: int, floor: int) -> int:
    """The bucket of a size: ``floor``, or the next power of two above it for larger sizes."""
    return floor if n <= floor else 1 << (n - 1).bit_length()


def _embed(a: Any, shape: tuple[int, ...], fill: float = 0.0) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    out = np.full(shape, fill)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _correlate(x: Array, w: Array, stride: int) -> Array:
    return lax.conv_general_dilated(x, w, (stride, stride), "VALID",
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"),
                                    precision=lax.Precision.HIGHEST)


@functools.cache
def _conv_fn() -> Any:
    def run(xp: Array, w: Array, b: Array, dout: Array) -> Any:
        out, pullback = jax.vjp(
            lambda xp, w, b: _correlate(xp, w, 1) + b[None, :, None, None], xp, w, b)
        return out, pullback(dout)

    return jax.jit(run)


def _strided(dout: Any, shape: tuple[int, ...], stride: int) -> np.ndarray:
    """dout at every ``stride``-th position of a stride-1 output of ``shape``, zero elsewhere."""
    d = np.asarray(dout, dtype=np.float64)
    out = np.zeros(shape)
    out[:d.shape[0], :d.shape[1], :d.shape[2] * stride:stride, :d.shape[3] * stride:stride] = d
    return out


def conv(x: Any, w: Any, b: Any, conv_param: dict[str, Any], dout: Any) -> tuple[Any, list[Any]]:
    """out = correlation of x (zero-padded by pad) with each filter, + b, and (dx, dw, db)."""
    with float64():
        return _conv(x, w, b, conv_param, dout)


def _conv(x: Any, w: Any, b: Any, conv_param: dict[str, Any], dout: Any
          ) -> tuple[Any, list[Any]]:
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    s, p = int(conv_param["stride"]), int(conv_param["pad"])
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = 1 + (h + 2 * p - hh) // s, 1 + (wd + 2 * p - ww) // s
    k = _fit(max(hh, ww), _K)
    side = _fit(max(xp.shape[2], xp.shape[3], (max(ho, wo) - 1) * s + k), _SIDE)
    bn, bc, bf = _fit(n, _N), _fit(c, _C), _fit(f, _F)
    bo = 1 + side - k
    out, (dxp, dw, db) = _conv_fn()(
        _embed(xp, (bn, bc, side, side)), _embed(w, (bf, bc, k, k)), _embed(b, (bf,)),
        _strided(np.asarray(dout)[:, :, :ho, :wo], (bn, bf, bo, bo), s))
    dx = np.asarray(dxp)[:n, :c, p:p + h, p:p + wd]
    out = np.asarray(out)[:n, :f, ::s, ::s][:, :, :ho, :wo]
    return out, [dx, np.asarray(dw)[:f, :c, :hh, :ww], np.asarray(db)[:f]]


def _max_pool(x: Array, ph: int, pw: int, s: int) -> Array:
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, ph, pw), (1, 1, s, s), "VALID")


@functools.cache
def _pool_fn(ph: int, pw: int) -> Any:
    def run(x: Array, dout: Array) -> Any:
        out, pullback = jax.vjp(lambda x: _max_pool(x, ph, pw, 1), x)
        return out, pullback(dout)

    return jax.jit(run)


def pool(x: Any, pool_param: dict[str, Any], dout: Any) -> tuple[Any, list[Any]]:
    """Max over each window and dx (at a tie JAX picks one maximum: the checks accept any
    valid split, see the subgradient rule in checks/layers.py)."""
    with float64():
        return _pool(x, pool_param, dout)


def _pool(x: Any, pool_param: dict[str, Any], dout: Any) -> tuple[Any, list[Any]]:
    x = np.asarray(x, dtype=np.float64)
    ph, pw, s = (int(pool_param[k]) for k in ("pool_height", "pool_width", "stride"))
    n, c, h, w = x.shape
    ho, wo = 1 + (h - ph) // s, 1 + (w - pw) // s
    side = _fit(max(h, w), _SIDE)
    bn, bc = _fit(n, _N), _fit(c, _C)
    out, (dx,) = _pool_fn(ph, pw)(
        _embed(x, (bn, bc, side, side), _LOW),
        _strided(np.asarray(dout)[:, :, :ho, :wo], (bn, bc, 1 + side - ph, 1 + side - pw), s))
    out = np.asarray(out)[:n, :c, ::s, ::s][:, :, :ho, :wo]
    return out, [np.asarray(dx)[:n, :c, :h, :w]]
