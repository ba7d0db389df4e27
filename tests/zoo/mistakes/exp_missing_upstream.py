"""ExpGate.backward returns the local gradient e^x without the upstream dz."""

import numpy as np

from reference import *  # noqa: F403


class ExpGate:
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dz):
        return self.out


EXPECT = {"ExpGate": "backward", "circuit sigmoid neuron": "backward"}
