"""The JAX oracle of the convolutional layers and of ThreeLayerConvNet, in float64.

Convolution is ``lax.conv_general_dilated`` as a correlation (no filter flip, CS231n's
convention), max pooling is ``lax.reduce_window``, and gradients are ``jax.vjp``.  XLA compiles
every new shape, so inputs are zero-padded to fixed buckets, exactly: the convolution's own
padding is applied first, then the padded input is embedded in a larger zero array and each
filter in a larger zero filter (zeros add nothing to a correlation at the outputs kept), and
pooling pads with a very negative value (never a window's max) at the bottom and right.
Outputs and gradients are cut back.  Strides are taken outside XLA: a layer of stride S is the
stride-1 layer read at every S-th output, and its gradient is the stride-1 layer's pulled back
from a dout that is zero elsewhere.  Every shape the strategies draw falls in one bucket, so a
run compiles the convolution once and pooling once per window shape (nine at most).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bpverify.grading import oracles as _core  # noqa: F401  (turns on float64 and the cache)

__all__ = ["conv", "conv_net", "pool"]

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


# --- ThreeLayerConvNet --------------------------------------------------------------------


def _net_scores(params: dict[str, Array], X: Array, pad: int) -> Array:
    xp = jnp.pad(X, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    h = jax.nn.relu(_correlate(xp, params["W1"], 1) + params["b1"][None, :, None, None])
    h = _max_pool(h, 2, 2, 2)
    h = h.reshape(h.shape[0], -1)
    h = jax.nn.relu(h @ params["W2"] + params["b2"])
    return h @ params["W3"] + params["b3"]


@functools.cache
def _net_fn(pad: int) -> Any:
    def loss_of(params: dict[str, Array], X: Array, y: Array, reg: Array) -> Array:
        scores = _net_scores(params, X, pad)
        log_probs = jax.nn.log_softmax(scores, axis=1)
        data = -jnp.mean(jnp.take_along_axis(log_probs, y[:, None], axis=1))
        l2 = sum(jnp.sum(params[k] ** 2) for k in ("W1", "W2", "W3"))
        return data + 0.5 * reg * l2

    def run(params: dict[str, Array], X: Array, y: Array, reg: Array) -> Any:
        value, grads = jax.value_and_grad(loss_of)(params, X, y, reg)
        return _net_scores(params, X, pad), value, grads

    return jax.jit(run)


def conv_net(params: dict[str, Any], X: Any, y: Any, reg: float,
             filter_size: int) -> tuple[Any, float, dict[str, Any]]:
    """ThreeLayerConvNet's scores, loss (mean softmax + 0.5 reg sum(W**2)) and gradients."""
    p = {k: jnp.asarray(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
    scores, value, grads = _net_fn((filter_size - 1) // 2)(
        p, jnp.asarray(np.asarray(X, dtype=np.float64)), jnp.asarray(np.asarray(y, np.int64)),
        jnp.float64(reg))
    return np.asarray(scores), float(value), {k: np.asarray(g) for k, g in grads.items()}
