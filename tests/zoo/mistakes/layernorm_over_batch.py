"""layernorm_forward normalizes each feature over the batch (axis 0), as batch norm does."""

import numpy as np

from reference import *  # noqa: F403


def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


EXPECT = {"layernorm_forward": "forward", "layernorm_backward": "backward"}
DIAGNOSES = {"layernorm_forward": "ln-batch-axis"}
