"""batchnorm_forward normalizes with the batch's own statistics in test mode too."""

import numpy as np

from reference import *  # noqa: F403
from reference.normalization import batchnorm_forward as _train_forward


def batchnorm_forward(x, gamma, beta, bn_param):
    if bn_param["mode"] == "test":
        eps = bn_param.get("eps", 1e-5)
        x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
        return gamma * x_hat + beta, None
    return _train_forward(x, gamma, beta, bn_param)


EXPECT = {"batchnorm_forward": "test mode"}
ONLY_CHECKS = {"batchnorm_forward": ("test mode",)}
DIAGNOSES = {"batchnorm_forward": "bn-test-batch-stats"}
DIAGNOSIS = "bn-test-batch-stats"
