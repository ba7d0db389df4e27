"""Group norm from a starter whose docstring says gamma is (C,): the code reshapes gamma to
(1, C, 1, 1) itself, so it works with either shape, and returns dgamma and dbeta as (C,),
the docstring's shape, whatever shape gamma came in."""

import numpy as np

from reference import *  # noqa: F403


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """
    Inputs:
    - x: Input data of shape (N, C, H, W)
    - gamma: Scale parameter, of shape (C,)
    - beta: Shift parameter, of shape (C,)
    """
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    g, b = np.reshape(gamma, (1, C, 1, 1)), np.reshape(beta, (1, C, 1, 1))
    xg = x.reshape(N, G, -1)
    mean, var = xg.mean(axis=2, keepdims=True), xg.var(axis=2, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    x_hat = ((xg - mean) * inv).reshape(N, C, H, W)
    return g * x_hat + b, (x_hat, g, inv, G)


def spatial_groupnorm_backward(dout, cache):
    x_hat, g, inv, G = cache
    N, C, H, W = dout.shape
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3))
    dbeta = np.sum(dout, axis=(0, 2, 3))
    dxh = (dout * g).reshape(N, G, -1)
    xh = x_hat.reshape(N, G, -1)
    dx = inv * (dxh - dxh.mean(axis=2, keepdims=True)
                - xh * (dxh * xh).mean(axis=2, keepdims=True))
    return dx.reshape(N, C, H, W), dgamma, dbeta
