"""Layers and losses written with naive Python loops, the way CS231n's first drafts look."""

import numpy as np

from reference import *  # noqa: F403


def affine_forward(x, w, b):
    N = x.shape[0]
    D, M = w.shape
    xr = x.reshape(N, D)
    out = np.zeros((N, M))
    for i in range(N):
        for j in range(M):
            s = b[j]
            for k in range(D):
                s += xr[i, k] * w[k, j]
            out[i, j] = s
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    D, M = w.shape
    xr = x.reshape(N, D)
    dx = np.zeros((N, D))
    dw = np.zeros((D, M))
    db = np.zeros(M)
    for i in range(N):
        for j in range(M):
            db[j] += dout[i, j]
            for k in range(D):
                dx[i, k] += dout[i, j] * w[k, j]
                dw[k, j] += xr[i, k] * dout[i, j]
    return dx.reshape(x.shape), dw, db


def relu_forward(x):
    out = np.zeros_like(x)
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    for i in range(flat_in.size):
        if flat_in[i] > 0:
            flat_out[i] = flat_in[i]
    return out, x


def relu_backward(dout, cache):
    x = cache
    dx = np.zeros_like(dout)
    flat_x, flat_d, flat_dx = x.reshape(-1), dout.reshape(-1), dx.reshape(-1)
    for i in range(flat_x.size):
        if flat_x[i] > 0:
            flat_dx[i] = flat_d[i]
    return dx


def softmax_loss(x, y):
    N, C = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for i in range(N):
        m = max(x[i])
        exps = [np.exp(x[i, j] - m) for j in range(C)]
        total = sum(exps)
        for j in range(C):
            p = exps[j] / total
            dx[i, j] = (p - (j == y[i])) / N
        loss += -(x[i, y[i]] - m - np.log(total))
    return loss / N, dx


def svm_loss(x, y):
    N, C = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for i in range(N):
        for j in range(C):
            if j == y[i]:
                continue
            margin = x[i, j] - x[i, y[i]] + 1
            if margin > 0:
                loss += margin
                dx[i, j] += 1.0 / N
                dx[i, y[i]] -= 1.0 / N
    return loss / N, dx
