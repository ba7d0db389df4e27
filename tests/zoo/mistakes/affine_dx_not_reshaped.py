"""affine_backward returns dx as (N, D) without reshaping it back to x's (N, d1, ..., dk)."""

from reference import *  # noqa: F403


def affine_backward(dout, cache):
    x, w = cache
    N = x.shape[0]
    dx = dout @ w.T
    dw = x.reshape(N, -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


EXPECT = {"affine_backward": "backward"}
KINDS = {"affine_backward": "wrong-shape"}
