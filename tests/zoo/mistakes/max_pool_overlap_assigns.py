"""max_pool_backward_naive assigns dx[...] = dout, so overlapping windows overwrite each other."""

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
                    r, q = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + r, j * stride + q] = dout[n, c, i, j]
    return dx


EXPECT = {"max_pool_backward_naive": "overlap"}
ONLY_CHECKS = {"max_pool_backward_naive": ("overlap",)}
DIAGNOSES = {"max_pool_backward_naive": "pool-overlap-overwrite"}
DIAGNOSIS = "pool-overlap-overwrite"
