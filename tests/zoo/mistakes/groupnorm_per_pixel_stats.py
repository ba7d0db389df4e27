"""Group norm normalizes each pixel over its group's channels alone (not over the pixels too)."""

import numpy as np

from reference import *  # noqa: F403


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    eps = gn_param.get("eps", 1e-5)
    N, C, H, W = x.shape
    xg = x.reshape(N, G, C // G, H, W)
    mean = xg.mean(axis=2, keepdims=True)
    var = xg.var(axis=2, keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    x_hat = ((xg - mean) * inv).reshape(N, C, H, W)
    g = np.reshape(gamma, (1, C, 1, 1))
    return g * x_hat + np.reshape(beta, (1, C, 1, 1)), (x_hat, g, inv, G, np.shape(gamma))


def spatial_groupnorm_backward(dout, cache):
    x_hat, g, inv, G, shape = cache
    N, C, H, W = dout.shape
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3)).reshape(shape)
    dbeta = np.sum(dout, axis=(0, 2, 3)).reshape(shape)
    dxh = (dout * g).reshape(N, G, C // G, H, W)
    xh = x_hat.reshape(dxh.shape)
    dx = inv * (dxh - dxh.mean(axis=2, keepdims=True)
                - xh * (dxh * xh).mean(axis=2, keepdims=True))
    return dx.reshape(N, C, H, W), dgamma, dbeta


EXPECT = {"spatial_groupnorm_forward": "forward", "spatial_groupnorm_backward": "backward"}
DIAGNOSES = {"spatial_groupnorm_forward": "gn-channels-only"}
