"""affine_forward forgets to add the bias b."""

from reference import *  # noqa: F403


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w
    cache = (x, w)
    return out, cache


EXPECT = {"affine_forward": "forward"}
