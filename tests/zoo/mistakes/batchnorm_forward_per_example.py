"""batchnorm takes the mean and variance over axis 1, each example's features, both ways."""

import numpy as np

from reference import *  # noqa: F403


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean", np.zeros(x.shape[1]))
    running_var = bn_param.get("running_var", np.zeros(x.shape[1]))
    if bn_param["mode"] == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        return out, None
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    x_hat = (x - mean) / np.sqrt(var + eps)
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * x.var(axis=0)
    return gamma * x_hat + beta, (x_hat, 1 / np.sqrt(var + eps), gamma)


def batchnorm_backward(dout, cache):
    x_hat, inv_std, gamma = cache
    D = dout.shape[1]
    dx_hat = dout * gamma
    dx = inv_std / D * (D * dx_hat - dx_hat.sum(axis=1, keepdims=True)
                        - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


batchnorm_backward_alt = batchnorm_backward


EXPECT = {
    "batchnorm_forward": "forward",
    "batchnorm_backward": "backward",
    "batchnorm_backward_alt": "backward",
}
DIAGNOSES = {"batchnorm_forward": "bn-wrong-axis", "batchnorm_backward": "bn-wrong-axis"}
DIAGNOSIS = "bn-wrong-axis"
