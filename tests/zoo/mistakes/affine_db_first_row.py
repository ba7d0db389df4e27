"""affine_backward takes db = dout[0] (the first sample) instead of summing over the batch."""

from reference import *  # noqa: F403


def affine_backward(dout, cache):
    x, w = cache
    N = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(N, -1).T @ dout
    db = dout[0]
    return dx, dw, db


EXPECT = {"affine_backward": "backward"}
