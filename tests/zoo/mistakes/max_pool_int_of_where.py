"""max_pool_backward_naive takes int() of np.where's one-element arrays: numpy 2 refuses it."""

import numpy as np

from reference import *  # noqa: F403


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    row, col = np.where(window == np.max(window))
                    dx[n, c, i * stride + int(row), j * stride + int(col)] = dout[n, c, i, j]
    return dx


EXPECT = {"max_pool_backward_naive": "backward"}
KINDS = {"max_pool_backward_naive": "raised"}
