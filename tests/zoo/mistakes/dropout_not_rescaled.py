"""dropout_forward drops units but never divides the kept ones by p (not inverted)."""

import numpy as np

from reference import *  # noqa: F403


def dropout_forward(x, dropout_param):
    """p: Dropout parameter. We keep each neuron output with probability p."""
    p, mode = dropout_param["p"], dropout_param["mode"]
    if "seed" in dropout_param:
        np.random.seed(dropout_param["seed"])
    mask = None
    if mode == "train":
        mask = np.random.rand(*x.shape) < p
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


EXPECT = {"dropout_forward": "train mode"}
ONLY_CHECKS = {"dropout_forward": ("train mode",)}
DIAGNOSES = {"dropout_forward": "dropout-not-rescaled"}
DIAGNOSIS = "dropout-not-rescaled"
