"""SigmoidGate.backward uses sigma(x) as its local gradient instead of (1 - sigma) * sigma."""

import numpy as np

from reference import *  # noqa: F403


class SigmoidGate:
    def forward(self, x):
        e = np.exp(-np.abs(x))
        self.s = np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))
        return self.s

    def backward(self, dz):
        return self.s * dz


EXPECT = {"SigmoidGate": "backward"}
