"""ScaleGate.backward passes dz straight through, forgetting the factor a."""

from reference import *  # noqa: F403


class ScaleGate:
    def __init__(self, a):
        self.a = a

    def forward(self, x):
        return self.a * x

    def backward(self, dz):
        return dz


EXPECT = {"ScaleGate": "backward", "circuit sigmoid neuron": "backward"}
