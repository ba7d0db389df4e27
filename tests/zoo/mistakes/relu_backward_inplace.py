"""relu_backward zeroes dout in place (dout[x <= 0] = 0) and returns it: values right, dout clobbered."""

from reference import *  # noqa: F403


def relu_backward(dout, cache):
    x = cache
    dout[x <= 0] = 0
    return dout


EXPECT = {"relu_backward": "hygiene"}
ONLY_CHECKS = {"relu_backward": ("hygiene",)}
KINDS = {"relu_backward": "mutates-input"}
