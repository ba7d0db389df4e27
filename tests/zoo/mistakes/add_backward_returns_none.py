"""AddGate.backward computes dx and dy but forgets the return statement."""

from reference import *  # noqa: F403


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        dx = dz
        dy = dz  # noqa: F841


EXPECT = {
    "AddGate": "backward",
    "circuit (x+y)*z": "backward",
    "circuit sigmoid neuron": "backward",
}
KINDS = {"AddGate": "bad-return", "circuit (x+y)*z": "bad-return"}
