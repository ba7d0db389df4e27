"""Normalization as CS231n students write it: a staged graph, layer norm through transposes,
running averages updated in place, and group norm from a starter whose gamma is (C,)."""

import numpy as np

from reference import *  # noqa: F403


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    cache = None
    if mode == "train":
        mu = 1.0 / N * np.sum(x, axis=0)
        xmu = x - mu
        sq = xmu ** 2
        var = 1.0 / N * np.sum(sq, axis=0)
        sqrtvar = np.sqrt(var + eps)
        ivar = 1.0 / sqrtvar
        xhat = xmu * ivar
        out = gamma * xhat + beta
        cache = (xhat, gamma, xmu, ivar, sqrtvar, var, eps)
        running_mean *= momentum
        running_mean += (1 - momentum) * mu
        running_var *= momentum
        running_var += (1 - momentum) * var
    elif mode == "test":
        out = (x - running_mean) / np.sqrt(running_var + eps) * gamma + beta
    else:
        raise ValueError(f"Invalid forward batchnorm mode {mode}")
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N, D = dout.shape
    dbeta = np.sum(dout, axis=0)
    dgammax = dout
    dgamma = np.sum(dgammax * xhat, axis=0)
    dxhat = dgammax * gamma
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
    dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
    dsq = 1.0 / N * np.ones((N, D)) * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
    dx2 = 1.0 / N * np.ones((N, D)) * dmu
    return dx1 + dx2, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = (1.0 / N) * ivar * (N * dxhat - np.sum(dxhat, axis=0)
                             - xhat * np.sum(dxhat * xhat, axis=0))
    return dx, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    xt = x.T  # (D, N): each column is one example, so batchnorm's axis-0 code applies
    mu = xt.mean(axis=0)
    var = xt.var(axis=0)
    ivar = 1.0 / np.sqrt(var + eps)
    xhat = ((xt - mu) * ivar).T
    return gamma * xhat + beta, (xhat, gamma, ivar)


def layernorm_backward(dout, cache):
    xhat, gamma, ivar = cache
    D = dout.shape[1]
    dxhat = (dout * gamma).T
    xh = xhat.T
    dx = (1.0 / D) * ivar * (D * dxhat - dxhat.sum(axis=0) - xh * (dxhat * xh).sum(axis=0))
    return dx.T, np.sum(dout * xhat, axis=0), np.sum(dout, axis=0)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """
    Inputs:
    - x: Input data of shape (N, C, H, W)
    - gamma: Scale parameter, of shape (C,)
    - beta: Shift parameter, of shape (C,)
    - G: Integer mumber of groups to split into, should be a divisor of C
    - gn_param: Dictionary with the following keys:
      - eps: Constant for numeric stability
    """
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, -1)
    mu = xg.mean(axis=2, keepdims=True)
    ivar = 1.0 / np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    xhat = ((xg - mu) * ivar).reshape(N, C, H, W)
    out = gamma[None, :, None, None] * xhat + beta[None, :, None, None]
    return out, (xhat, gamma, ivar, G)


def spatial_groupnorm_backward(dout, cache):
    """dgamma and dbeta of shape (C,)."""
    xhat, gamma, ivar, G = cache
    N, C, H, W = dout.shape
    dgamma = np.sum(dout * xhat, axis=(0, 2, 3))
    dbeta = np.sum(dout, axis=(0, 2, 3))
    dxhat = (dout * gamma[None, :, None, None]).reshape(N, G, -1)
    xh = xhat.reshape(N, G, -1)
    M = xh.shape[2]
    dx = (1.0 / M) * ivar * (M * dxhat - dxhat.sum(axis=2, keepdims=True)
                             - xh * (dxhat * xh).sum(axis=2, keepdims=True))
    return dx.reshape(N, C, H, W), dgamma, dbeta
