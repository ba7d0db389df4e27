"""layer norm copied from batch norm: each feature normalized over the batch (axis 0)."""

import numpy as np

from reference import *  # noqa: F403


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


def layernorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache
    N = dout.shape[0]
    dx_hat = dout * gamma
    dx = inv_std / N * (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


EXPECT = {"layernorm_forward": "forward", "layernorm_backward": "backward"}
DIAGNOSES = {"layernorm_forward": "ln-batch-axis", "layernorm_backward": "ln-batch-axis"}
DIAGNOSIS = "ln-batch-axis"
