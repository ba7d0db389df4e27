"""ScaleGate stores its constant a on the class: the last gate constructed wins for all."""

from reference import *  # noqa: F403


class ScaleGate:
    def __init__(self, a):
        ScaleGate.a = a

    def forward(self, x):
        return self.a * x

    def backward(self, dz):
        return self.a * dz


EXPECT = {"ScaleGate": "instances"}
ONLY_CHECKS = {"ScaleGate": ("instances",)}
KINDS = {"ScaleGate": "shared-state"}
