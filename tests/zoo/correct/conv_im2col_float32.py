"""im2col-style vectorized convolution and strided-window max pooling, computed in float32."""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from reference import *  # noqa: F403


def _im2col(x_pad, HH, WW, stride, H_out, W_out):
    N, C, _, _ = x_pad.shape
    sn, sc, sh, sw = x_pad.strides
    cols = as_strided(x_pad, shape=(N, H_out, W_out, C, HH, WW),
                      strides=(sn, sh * stride, sw * stride, sc, sh, sw))
    return np.ascontiguousarray(cols).reshape(N * H_out * W_out, C * HH * WW)


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    x, w, b = (np.asarray(v, dtype=np.float32) for v in (x, w, b))
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = _im2col(x_pad, HH, WW, stride, H_out, W_out)
    out = cols @ w.reshape(F, -1).T + b
    out = out.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out, (x, w, b, conv_param, cols)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param, cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    d = np.asarray(dout, dtype=np.float32).transpose(0, 2, 3, 1).reshape(-1, F)
    db = d.sum(axis=0)
    dw = (d.T @ cols).reshape(w.shape)
    dcols = (d @ w.reshape(F, -1)).reshape(N, H_out, W_out, C, HH, WW)
    dx_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=np.float32)
    for i in range(H_out):
        for j in range(W_out):
            dx_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += dcols[:, i, j]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db


def max_pool_forward_naive(x, pool_param):
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    x = np.asarray(x, dtype=np.float32)
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - ph) // stride, 1 + (W - pw) // stride
    sn, sc, sh, sw = x.strides
    windows = as_strided(x, shape=(N, C, H_out, W_out, ph, pw),
                         strides=(sn, sc, sh * stride, sw * stride, sh, sw))
    return windows.max(axis=(4, 5)), (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    n, c = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            r, q = np.unravel_index(window.reshape(N, C, -1).argmax(axis=2), (ph, pw))
            np.add.at(dx, (n, c, i * stride + r, j * stride + q), dout[:, :, i, j])
    return dx
