"""batchnorm_backward sums dgamma and dbeta with keepdims=True: (1, D), not the docstring's (D,)."""

import numpy as np

from reference import *  # noqa: F403
from reference import batchnorm_backward as _batchnorm_backward


def batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = _batchnorm_backward(dout, cache)
    return dx, np.reshape(dgamma, (1, -1)), np.reshape(dbeta, (1, -1))


EXPECT = {"batchnorm_backward": "backward"}
DIAGNOSES = {"batchnorm_backward": "not-reshaped"}
