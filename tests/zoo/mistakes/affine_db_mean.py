"""affine_backward averages dout over the batch for db instead of summing it."""

import numpy as np

from reference import *  # noqa: F403


def affine_backward(dout, cache):
    x, w = cache
    N = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T @ dout
    db = np.mean(dout, axis=0)
    return dx, dw, db


EXPECT = {"affine_backward": "backward"}
