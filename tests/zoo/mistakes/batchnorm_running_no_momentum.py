"""batchnorm_forward replaces the running averages with the batch's statistics."""

import numpy as np

from reference import *  # noqa: F403
from reference.normalization import batchnorm_forward as _reference_forward


def batchnorm_forward(x, gamma, beta, bn_param):
    out, cache = _reference_forward(x, gamma, beta, bn_param)
    if bn_param["mode"] == "train":
        bn_param["running_mean"] = np.mean(x, axis=0)
        bn_param["running_var"] = np.var(x, axis=0)
    return out, cache


EXPECT = {"batchnorm_forward": "running averages"}
ONLY_CHECKS = {"batchnorm_forward": ("running averages",)}
DIAGNOSES = {"batchnorm_forward": "bn-running-no-momentum"}
DIAGNOSIS = "bn-running-no-momentum"
