"""batchnorm_backward follows the graph but never adds the gradient through the mean."""

import numpy as np

from reference import *  # noqa: F403


def batchnorm_backward(dout, cache):
    x, x_hat, mean, var, inv_std, gamma, eps = cache
    n = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    centred = x - mean
    dvar = np.sum(dx_hat * centred, axis=0) * -0.5 * (var + eps) ** -1.5
    dx = dx_hat * inv_std + 2.0 * centred * dvar / n
    return dx, dgamma, dbeta


EXPECT = {"batchnorm_backward": "backward"}
DIAGNOSES = {"batchnorm_backward": "bn-no-mean-path"}
DIAGNOSIS = "bn-no-mean-path"
