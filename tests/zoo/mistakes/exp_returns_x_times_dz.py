"""ExpGate.backward returns x * dz, as if d(e^x)/dx were x (confused with x^n rules)."""

import numpy as np

from reference import *  # noqa: F403


class ExpGate:
    def forward(self, x):
        self.x = x
        return np.exp(x)

    def backward(self, dz):
        return self.x * dz


EXPECT = {"ExpGate": "backward", "circuit sigmoid neuron": "backward"}
