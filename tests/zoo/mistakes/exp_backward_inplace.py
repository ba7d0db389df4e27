"""ExpGate.backward does dz *= e^x, modifying the caller's upstream gradient array in place."""

import numpy as np

from reference import *  # noqa: F403


class ExpGate:
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dz):
        dz *= self.out
        return dz


EXPECT = {"ExpGate": "hygiene"}
ONLY_CHECKS = {"ExpGate": ("hygiene",)}
KINDS = {"ExpGate": "mutates-input"}
