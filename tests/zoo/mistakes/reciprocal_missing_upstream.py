"""ReciprocalGate.backward returns the local gradient -1/x^2 without the upstream dz."""

from reference import *  # noqa: F403


class ReciprocalGate:
    def forward(self, x):
        self.x = x
        return 1.0 / x

    def backward(self, dz):
        return -1.0 / self.x**2


EXPECT = {"ReciprocalGate": "backward", "circuit sigmoid neuron": "backward"}
