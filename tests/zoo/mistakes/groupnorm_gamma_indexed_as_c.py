"""spatial_groupnorm_forward indexes its (1, C, 1, 1) gamma as gamma[None, :, None, None]."""

import numpy as np

from reference import *  # noqa: F403
from reference import spatial_groupnorm_forward as _spatial_groupnorm_forward


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """
    Inputs:
    - x: Input data of shape (N, C, H, W)
    - gamma: Scale parameter, of shape (1, C, 1, 1)
    - beta: Shift parameter, of shape (1, C, 1, 1)
    """
    ones = np.ones_like(gamma)
    x_hat, _ = _spatial_groupnorm_forward(x, ones, 0 * ones, G, gn_param)
    _, cache = _spatial_groupnorm_forward(x, gamma, beta, G, gn_param)
    g = gamma[np.newaxis, :, np.newaxis, np.newaxis]
    out = g * x_hat + beta[np.newaxis, :, np.newaxis, np.newaxis]
    return out, cache


EXPECT = {"spatial_groupnorm_forward": "forward"}
DIAGNOSES = {"spatial_groupnorm_forward": "gn-gamma-indexed"}
DIAGNOSIS = "gn-gamma-indexed"
