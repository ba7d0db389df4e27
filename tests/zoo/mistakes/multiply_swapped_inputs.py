"""MultiplyGate.backward scales dz by the input itself instead of by the *other* input."""

from reference import *  # noqa: F403


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.x * dz, self.y * dz


EXPECT = {
    "MultiplyGate": "backward",
    "circuit (x+y)*z": "backward",
    "circuit sigmoid neuron": "backward",
}
KINDS = {"MultiplyGate": "wrong-values"}
