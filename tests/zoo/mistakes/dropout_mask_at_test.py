"""dropout_forward draws and applies a mask in test mode too."""

import numpy as np

from reference import *  # noqa: F403


def dropout_forward(x, dropout_param):
    """p: Dropout parameter. We keep each neuron output with probability p."""
    p = dropout_param["p"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = (np.random.rand(*x.shape) < p) / p
    return x * mask, (dropout_param, mask)


EXPECT = {"dropout_forward": "test mode"}
DIAGNOSES = {"dropout_forward": "dropout-mask-at-test"}
DIAGNOSIS = "dropout-mask-at-test"
