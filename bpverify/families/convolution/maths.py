"""The layers' arithmetic in plain numpy, float64: what the diagnoses compare a submission's
values with (a flipped filter, the whole window) and the pooling windows the subgradient rule
reads.  The oracle that grades is JAX's (bpverify/grading/conv_oracles.py); these are
patterns, not verdicts.

Numpy only: a family's checks and feedback both use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "conv_out_size",
    "correlate",
    "correlate_backward",
    "overlapping",
    "pool_dims",
    "pool_routes",
    "pool_windows",
    "route_to_max",
    "whole_window",
]


def conv_out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """1 + (size + 2 pad - kernel) / stride: the output's height (or width)."""
    return 1 + (size + 2 * pad - kernel) // stride


def correlate(x: Any, w: Any, b: Any, stride: int, pad: int) -> np.ndarray:
    """CS231n's conv_forward_naive in float64: each filter slid over the padded input, unflipped."""
    x, w, b = (np.asarray(v, dtype=np.float64) for v in (x, w, b))
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = conv_out_size(h, hh, stride, pad), conv_out_size(wd, ww, stride, pad)
    out = np.empty((n, f, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, w)
    return out + b[None, :, None, None]


def correlate_backward(x: Any, w: Any, dout: Any, stride: int, pad: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db) of :func:`correlate` for upstream ``dout``, in float64."""
    x, w, d = (np.asarray(v, dtype=np.float64) for v in (x, w, dout))
    _, _, h, wd = x.shape
    _, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(d.shape[2]):
        for j in range(d.shape[3]):
            rows, cols = slice(i * stride, i * stride + hh), slice(j * stride, j * stride + ww)
            dxp[:, :, rows, cols] += np.einsum("nf,fckl->nckl", d[:, :, i, j], w)
            dw += np.einsum("nf,nckl->fckl", d[:, :, i, j], xp[:, :, rows, cols])
    return dxp[:, :, pad:pad + h, pad:pad + wd], dw, d.sum(axis=(0, 2, 3))


def pool_dims(pool_param: dict[str, Any]) -> tuple[int, int, int]:
    """(pool height, pool width, stride) from CS231n's pool_param."""
    return (int(pool_param["pool_height"]), int(pool_param["pool_width"]),
            int(pool_param["stride"]))


def overlapping(pool_param: dict[str, Any]) -> bool:
    """Some input element lies in more than one window (the stride is below a side)."""
    ph, pw, s = pool_dims(pool_param)
    return s < max(ph, pw)


def pool_windows(shape: tuple[int, ...], pool_param: dict[str, Any]
                 ) -> Iterator[tuple[int, int, slice, slice]]:
    """(i, j, rows, cols) of every pooling window of an input of shape (N, C, H, W)."""
    ph, pw, s = pool_dims(pool_param)
    h, w = shape[2], shape[3]
    for i in range(1 + (h - ph) // s):
        for j in range(1 + (w - pw) // s):
            yield i, j, slice(i * s, i * s + ph), slice(j * s, j * s + pw)


def whole_window(dout: Any, shape: tuple[int, ...], pool_param: dict[str, Any],
                 share: bool = False) -> np.ndarray:
    """dout sent to every element of its window (``share``: divided among them, as average
    pooling does)."""
    d = np.asarray(dout, dtype=np.float64)
    ph, pw, _ = pool_dims(pool_param)
    dx = np.zeros(shape)
    for i, j, rows, cols in pool_windows(shape, pool_param):
        dx[:, :, rows, cols] += (d[:, :, i, j] / (ph * pw if share else 1))[:, :, None, None]
    return dx


def route_to_max(x: Any, dout: Any, pool_param: dict[str, Any], offset: bool = True,
                 assign: bool = False) -> np.ndarray:
    """Each window's dout sent to its first maximum (``offset=False``: to the maximum's place
    inside the window counted from x's top-left corner, the window's offset forgotten;
    ``assign``: ``dx[at] = dout`` where overlapping windows share a maximum, so the last
    window in row order overwrites the others instead of adding to them)."""
    xa, d = np.asarray(x, dtype=np.float64), np.asarray(dout, dtype=np.float64)
    _, pw, _ = pool_dims(pool_param)
    dx = np.zeros(xa.shape)
    for i, j, rows, cols in pool_windows(xa.shape, pool_param):
        for n in range(xa.shape[0]):
            for c in range(xa.shape[1]):
                r, q = divmod(int(np.argmax(xa[n, c, rows, cols])), pw)
                at = (rows.start + r, cols.start + q) if offset else (r, q)
                kept = 0.0 if assign else dx[n, c, at[0], at[1]]
                dx[n, c, at[0], at[1]] = kept + d[n, c, i, j]
    return dx


def pool_routes(x: Any, dx: Any, dout: Any, pool_param: dict[str, Any]) -> dict[str, int]:
    """How a max_pool_backward_naive's dx sends each window's dout back, counted over windows
    whose dout is not 0 (non-overlapping windows only: ``{}`` otherwise).

    ``max``: all of it to one maximum, or split among tied maxima; ``all-maxima``: the full
    dout to each of two or more tied maxima; ``other``: all of it to one element that is not
    a maximum; ``spread``: anything else (several elements, or a wrong amount).
    """
    if overlapping(pool_param):
        return {}
    xa, g, d = (np.asarray(v, dtype=np.float64) for v in (x, dx, dout))
    if g.shape != xa.shape:
        return {}
    counts = {"max": 0, "all-maxima": 0, "other": 0, "spread": 0}
    tol = 1e-6 * max(1.0, float(np.max(np.abs(d), initial=0.0)))
    for i, j, rows, cols in pool_windows(xa.shape, pool_param):
        for n in range(xa.shape[0]):
            for c in range(xa.shape[1]):
                up = d[n, c, i, j]
                if up == 0:
                    continue
                win, got = xa[n, c, rows, cols], g[n, c, rows, cols]
                top = win == win.max()
                live = np.abs(got) > tol
                if (not live[~top].any() and abs(got[top].sum() - up) <= tol
                        and np.all(got[top] * np.sign(up) >= -tol)):
                    counts["max"] += 1
                elif top.sum() > 1 and np.array_equal(live, top) and np.allclose(
                        got[top], up, atol=tol, rtol=0):
                    counts["all-maxima"] += 1
                elif live.sum() == 1 and abs(got[live][0] - up) <= tol and not top[live][0]:
                    counts["other"] += 1
                else:
                    counts["spread"] += 1
    return counts
