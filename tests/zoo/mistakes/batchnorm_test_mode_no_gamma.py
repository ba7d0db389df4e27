"""batchnorm_forward's test mode normalizes with the running averages but drops gamma and beta."""

import numpy as np

from reference import *  # noqa: F403
from reference import batchnorm_forward as _batchnorm_forward


def batchnorm_forward(x, gamma, beta, bn_param):
    if bn_param["mode"] == "test":
        eps = bn_param.get("eps", 1e-5)
        mean, var = bn_param["running_mean"], bn_param["running_var"]
        return (x - mean) / np.sqrt(var + eps), None
    return _batchnorm_forward(x, gamma, beta, bn_param)


EXPECT = {"batchnorm_forward": "test mode"}
DIAGNOSES = {"batchnorm_forward": "bn-test-no-affine"}
DIAGNOSIS = "bn-test-no-affine"
