"""The conv layer flips each filter (a true convolution), where CS231n's layer is a correlation."""

import numpy as np

from reference import *  # noqa: F403


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    w_flip = w[:, :, ::-1, ::-1]
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w_flip[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, C, HH, WW = w.shape
    N, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    w_flip = w[:, :, ::-1, ::-1]
    dx_pad = np.zeros_like(x_pad)
    dw_flip = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    dx_pad[n, :, hs:hs + HH, ws:ws + WW] += w_flip[f] * dout[n, f, i, j]
                    dw_flip[f] += x_pad[n, :, hs:hs + HH, ws:ws + WW] * dout[n, f, i, j]
    dx = dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw_flip[:, :, ::-1, ::-1], np.sum(dout, axis=(0, 2, 3))


EXPECT = {"conv_forward_naive": "forward", "conv_backward_naive": "backward"}
DIAGNOSIS = "conv-flipped-filter"
