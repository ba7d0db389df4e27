"""relu_backward builds its mask from dout > 0 instead of from the cached input x > 0."""

from reference import *  # noqa: F403


def relu_backward(dout, cache):
    dx = dout * (dout > 0)
    return dx


EXPECT = {"relu_backward": "backward"}
