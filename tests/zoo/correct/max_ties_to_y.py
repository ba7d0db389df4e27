"""MaxGate sends dz to y at a tie (x > y strictly): a valid subgradient."""

import numpy as np

from reference import *  # noqa: F403


class MaxGate:
    def forward(self, x, y):
        self.x_wins = np.asarray(x) > np.asarray(y)
        return np.maximum(x, y)

    def backward(self, dz):
        return np.where(self.x_wins, dz, 0.0), np.where(self.x_wins, 0.0, dz)
