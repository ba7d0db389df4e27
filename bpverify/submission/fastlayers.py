"""Numpy stand-ins for CS231n's fast layers (``cs231n/fast_layers.py``), student side.

Assignment 2's ``ThreeLayerConvNet`` and ``layer_utils.conv_relu_pool_forward`` call the
course's ``conv_forward_fast``, ``max_pool_forward_fast`` and their backwards, which need the
Cython ``im2col`` extension (built by ``python setup.py build_ext`` in the student's own
machine, never in a handed-in folder) or are Python 2 in the 2016 starter.  They are the
course's code, not the student's: grading replaces them, in every module of the folder that
bound them, with these numpy equivalents (correlation with zero padding and stride; max pooling
without padding, the gradient to the first maximum of each window), caches included, so that a
forward's cache goes to the matching backward.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["FAST_LAYERS", "install_fast_layers"]


def _windows(x: np.ndarray, hh: int, ww: int, stride: int) -> np.ndarray:
    """(N, C, H_out, W_out, hh, ww): every window of x, with the stride."""
    return sliding_window_view(x, (hh, ww), axis=(2, 3))[:, :, ::stride, ::stride]


def conv_forward_fast(x: Any, w: Any, b: Any, conv_param: dict[str, Any]) -> tuple[Any, Any]:
    stride, pad = int(conv_param["stride"]), int(conv_param["pad"])
    x, w, b = np.asarray(x), np.asarray(w), np.asarray(b)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = _windows(padded, w.shape[2], w.shape[3], stride)
    out = np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]
    return out.astype(np.result_type(x, w), copy=False), (x, w, b, conv_param)


def conv_backward_fast(dout: Any, cache: Any) -> tuple[Any, Any, Any]:
    x, w, _, conv_param = cache
    stride, pad = int(conv_param["stride"]), int(conv_param["pad"])
    dout = np.asarray(dout)
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    hh, ww = w.shape[2], w.shape[3]
    ho, wo = dout.shape[2], dout.shape[3]
    dw = np.einsum("nchwij,nfhw->fcij", _windows(padded, hh, ww, stride), dout)
    dpad = np.zeros(padded.shape, dtype=np.result_type(dout, w))
    for i in range(hh):
        for j in range(ww):
            dpad[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += np.einsum(
                "nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dpad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def max_pool_forward_fast(x: Any, pool_param: dict[str, Any]) -> tuple[Any, Any]:
    x = np.asarray(x)
    ph, pw = int(pool_param["pool_height"]), int(pool_param["pool_width"])
    out = _windows(x, ph, pw, int(pool_param["stride"])).max(axis=(4, 5))
    return out, (x, pool_param)


def max_pool_backward_fast(dout: Any, cache: Any) -> Any:
    x, pool_param = cache
    ph, pw, stride = (int(pool_param[k]) for k in ("pool_height", "pool_width", "stride"))
    dout = np.asarray(dout)
    windows = _windows(x, ph, pw, stride)
    n, c, ho, wo = windows.shape[:4]
    first = windows.reshape(n, c, ho, wo, ph * pw).argmax(axis=4)
    dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
    for k in range(ph * pw):
        i, j = divmod(k, pw)
        dx[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += np.where(
            first == k, dout, 0.0)
    return dx


#: The course's fast layers (and the variants fast_layers.py builds them from) and their
#: stand-ins.
FAST_LAYERS: dict[str, Any] = {
    "conv_forward_fast": conv_forward_fast, "conv_backward_fast": conv_backward_fast,
    "conv_forward_im2col": conv_forward_fast, "conv_backward_im2col": conv_backward_fast,
    "conv_forward_strides": conv_forward_fast, "conv_backward_strides": conv_backward_fast,
    "max_pool_forward_fast": max_pool_forward_fast,
    "max_pool_backward_fast": max_pool_backward_fast,
    "max_pool_forward_reshape": max_pool_forward_fast,
    "max_pool_backward_reshape": max_pool_backward_fast,
    "max_pool_forward_im2col": max_pool_forward_fast,
    "max_pool_backward_im2col": max_pool_backward_fast,
}


#: The modules that use the fast layers (``from cs231n.fast_layers import *``): they get every
#: stand-in, even those a fast_layers.py that did not import (Python 2) never gave them.
USERS = ("cs231n.layer_utils", "cs231n.classifiers.cnn")


def install_fast_layers(modules: list[types.ModuleType]) -> list[str]:
    """Bind the stand-ins in every module that holds one of the fast layers' names, and in
    the modules of :data:`USERS`; the modules that got them."""
    changed = []
    for mod in modules:
        names = [n for n in FAST_LAYERS if n in mod.__dict__ or mod.__name__ in USERS]
        for name in names:
            mod.__dict__[name] = FAST_LAYERS[name]
        if names:
            changed.append(mod.__name__)
    return changed
