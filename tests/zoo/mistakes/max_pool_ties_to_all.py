"""max_pool_backward_naive gives the full dout to every maximum of a window with a tie (a mask)."""

import numpy as np

from reference import *  # noqa: F403


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    mask = window == np.max(window)
                    dx[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw] += \
                        mask * dout[n, c, i, j]
    return dx


EXPECT = {"max_pool_backward_naive": "ties"}
ONLY_CHECKS = {"max_pool_backward_naive": ("ties",)}
DIAGNOSIS = "pool-ties-to-all"
