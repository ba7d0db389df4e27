"""relu_backward passes dout where x >= 0: at x == 0 that is a valid subgradient."""

from reference import *  # noqa: F403


def relu_backward(dout, cache):
    x = cache
    dx = dout * (x >= 0)
    return dx
