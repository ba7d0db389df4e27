"""MultiplyGate.backward returns only the local gradients (y, x), never multiplying by dz."""

from reference import *  # noqa: F403


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.y, self.x


EXPECT = {
    "MultiplyGate": "backward",
    "circuit (x+y)*z": "backward",
    "circuit sigmoid neuron": "backward",
}
