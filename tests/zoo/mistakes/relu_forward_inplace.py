"""relu_forward clamps x in place (x[x < 0] = 0), destroying the caller's input."""

from reference import *  # noqa: F403


def relu_forward(x):
    x[x < 0] = 0
    out = x
    cache = x
    return out, cache


EXPECT = {"relu_forward": "hygiene"}
ONLY_CHECKS = {"relu_forward": ("hygiene",)}
KINDS = {"relu_forward": "mutates-input"}
