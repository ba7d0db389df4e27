"""The JAX oracle of the normalization layers, in float64, compiled once per bucket.

Every normalization is ``gamma * (x - mean) / sqrt(var + eps) + beta`` with the mean and the
uncorrected variance taken over some axes of x; they differ only in those axes (and in how
gamma broadcasts).  So one function serves them all: x is zero-padded to a power-of-two
*bucket* with a mask saying which entries are real (the statistics count only those), and
gamma and beta come broadcast to x's shape, so that ``jax.vjp`` gives dgamma element by
element, summed here over the axes gamma is shared along.  Group norm is computed on the
grouped view ``(N, G, C/G, H, W)``.  JAX runs in float64 inside :func:`oracles.float64` only.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bpverify.grading import oracles

__all__ = ["normalize", "running_stats", "statistics_axes", "with_running"]

#: The axes each normalization takes its statistics over (of x, grouped view for group norm).
_AXES: dict[str, tuple[int, ...]] = {
    "batchnorm": (0,),
    "layernorm": (1,),
    "spatial_batchnorm": (0, 2, 3),
    "spatial_groupnorm": (2, 3, 4),
}
#: The axes gamma is shared along (dgamma sums over them), in x's own layout.
_SHARED: dict[str, tuple[int, ...]] = {
    "batchnorm": (0,),
    "layernorm": (0,),
    "spatial_batchnorm": (0, 2, 3),
    "spatial_groupnorm": (0, 2, 3),
}


def statistics_axes(base: str) -> tuple[int, ...]:
    return _AXES[base]


def _bucket(n: int) -> int:
    return max(4, 1 << math.ceil(math.log2(max(n, 1))))


@functools.cache
def _compiled(axes: tuple[int, ...]) -> Any:
    def run(x: Any, mask: Any, gamma: Any, beta: Any, eps: Any, dout: Any) -> Any:
        def f(x: Any, gamma: Any, beta: Any) -> Any:
            count = jnp.maximum(mask.sum(axis=axes, keepdims=True), 1.0)
            mean = (x * mask).sum(axis=axes, keepdims=True) / count
            var = (((x - mean) * mask) ** 2).sum(axis=axes, keepdims=True) / count
            return gamma * (x - mean) / jnp.sqrt(var + eps) + beta

        out, vjp = jax.vjp(f, x, gamma, beta)
        return out, vjp(dout * mask)

    return jax.jit(run)


def _grouped(base: str, a: np.ndarray, groups: int) -> np.ndarray:
    if base != "spatial_groupnorm":
        return a
    n, c, h, w = a.shape
    return a.reshape(n, groups, c // groups, h, w)


def _gamma_full(base: str, g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    g = np.asarray(g, dtype=np.float64)
    if base in ("batchnorm", "layernorm"):
        return np.broadcast_to(g.reshape(1, -1), shape)
    return np.broadcast_to(g.reshape(1, -1, 1, 1), shape)


def normalize(base: str, x: Any, gamma: Any, beta: Any, eps: float, dout: Any,
              groups: int = 1) -> tuple[np.ndarray, list[np.ndarray]]:
    """Train mode: (out, [dx, dgamma, dbeta]) for upstream ``dout``; dgamma and dbeta of
    shape (D,) or (C,)."""
    x = np.asarray(x, dtype=np.float64)
    full = x.shape
    g, b = _gamma_full(base, gamma, full), _gamma_full(base, beta, full)
    xs, gs, bs, ds = (_grouped(base, np.asarray(a, dtype=np.float64), groups)
                      for a in (x, g, b, dout))
    bucket = tuple(_bucket(s) for s in xs.shape)

    def pad(a: np.ndarray) -> np.ndarray:
        out = np.zeros(bucket)
        out[tuple(slice(0, s) for s in a.shape)] = a
        return out

    mask = pad(np.ones(xs.shape))
    with oracles.float64():  # scoped: the user's JAX settings stay as they are
        out, (dx, dg, db) = _compiled(_AXES[base])(pad(xs), mask, pad(gs), pad(bs),
                                                    np.float64(eps), pad(ds))
    real = tuple(slice(0, s) for s in xs.shape)
    out, dx, dg, db = (np.asarray(a)[real].reshape(full) for a in (out, dx, dg, db))
    shared = _SHARED[base]
    return out, [dx, dg.sum(axis=shared), db.sum(axis=shared)]


def _stats(base: str, x: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    axes = _AXES[base]
    return x.mean(axis=axes), x.var(axis=axes)


def with_running(x: Any, gamma: Any, beta: Any, eps: float, running_mean: Any,
              running_var: Any) -> np.ndarray:
    """Test mode: the running averages normalize x, never the batch's own statistics."""
    x = np.asarray(x, dtype=np.float64)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    rm, rv = (np.asarray(a, dtype=np.float64).reshape(shape) for a in (running_mean,
                                                                       running_var))
    g, b = (np.asarray(a, dtype=np.float64).reshape(shape) for a in (gamma, beta))
    return np.asarray(g * (x - rm) / np.sqrt(rv + eps) + b)


def running_stats(base: str, x: Any, momentum: float, running_mean: Any,
                  running_var: Any) -> tuple[np.ndarray, np.ndarray]:
    """The running averages after one train-mode call: momentum * old + (1 - momentum) * the
    batch's mean and uncorrected variance."""
    mean, var = _stats(base, x)
    return (momentum * np.asarray(running_mean) + (1 - momentum) * mean,
            momentum * np.asarray(running_var) + (1 - momentum) * var)
