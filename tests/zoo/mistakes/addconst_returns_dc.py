"""AddConstGate.backward also returns a gradient for the constant c: (dx, dc) for one input."""

from reference import *  # noqa: F403


class AddConstGate:
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, dz):
        return dz, dz


EXPECT = {"AddConstGate": "backward", "circuit sigmoid neuron": "backward"}
KINDS = {"AddConstGate": "bad-return"}
