"""batchnorm_forward divides by sqrt(var), leaving eps out of the square root."""

import numpy as np

from reference import *  # noqa: F403


def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(x.shape[1]))
    running_var = bn_param.get("running_var", np.zeros(x.shape[1]))
    cache = None
    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
        inv_std = 1.0 / np.sqrt(var)
        x_hat = (x - mean) * inv_std
        out = gamma * x_hat + beta
        cache = (x, x_hat, mean, var, inv_std, gamma, 0.0)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    return out, cache


EXPECT = {
    "batchnorm_forward": "forward",
    "batchnorm_backward": "backward",
    "batchnorm_backward_alt": "backward",
}
DIAGNOSES = {"batchnorm_forward": "eps-missing", "batchnorm_backward": "eps-missing"}
DIAGNOSIS = "eps-missing"
