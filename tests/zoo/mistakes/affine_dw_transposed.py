"""affine_backward computes dw = dout.T @ x, the transpose of the right (D, M) gradient."""

from reference import *  # noqa: F403


def affine_backward(dout, cache):
    x, w = cache
    N = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)
    dw = dout.T @ x.reshape(N, -1)  # (M, D): only has w's shape when w is square
    db = dout.sum(axis=0)
    return dx, dw, db


EXPECT = {"affine_backward": "backward"}
