"""AddConstGate.backward multiplies dz by c (right for the lecture's +1 gate only)."""

from reference import *  # noqa: F403


class AddConstGate:
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, dz):
        return self.c * dz


# The sigmoid-neuron circuit uses AddConstGate(1), where this happens to be right.
EXPECT = {"AddConstGate": "backward"}
