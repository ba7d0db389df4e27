"""ReciprocalGate.backward drops the minus sign: d(1/x)/dx taken as +1/x^2."""

from reference import *  # noqa: F403


class ReciprocalGate:
    def forward(self, x):
        self.x = x
        return 1.0 / x

    def backward(self, dz):
        return dz / (self.x**2)


EXPECT = {"ReciprocalGate": "backward", "circuit sigmoid neuron": "backward"}
