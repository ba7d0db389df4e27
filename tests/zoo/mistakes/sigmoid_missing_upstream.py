"""SigmoidGate.backward returns (1 - s) * s and forgets to multiply by dz."""

import numpy as np

from reference import *  # noqa: F403


class SigmoidGate:
    def forward(self, x):
        # stable: exp of a non-positive number only
        e = np.exp(-np.abs(x))
        self.s = np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))
        return self.s

    def backward(self, dz):
        return (1 - self.s) * self.s


EXPECT = {"SigmoidGate": "backward"}
