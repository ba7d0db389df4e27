"""MaxGate.forward uses Python's max(x, y): fine for floats, raises for arrays."""

import numpy as np

from reference import *  # noqa: F403


class MaxGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return max(x, y)

    def backward(self, dz):
        x_wins = np.asarray(self.x) >= np.asarray(self.y)
        return np.where(x_wins, dz, 0.0), np.where(x_wins, 0.0, dz)


EXPECT = {"MaxGate": "forward"}
KINDS = {"MaxGate": "raised"}
