"""conv_backward_naive sums db over every axis but the batch axis, not over (0, 2, 3)."""

import numpy as np

from reference import *  # noqa: F403
from reference import conv_backward_naive as _conv_backward


def conv_backward_naive(dout, cache):
    dx, dw, _ = _conv_backward(dout, cache)
    db = np.sum(dout, axis=(1, 2, 3))
    return dx, dw, db


EXPECT = {"conv_backward_naive": "backward"}
DIAGNOSIS = "conv-db-axes"
