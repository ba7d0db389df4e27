"""SigmoidGate computes exp(x) / (1 + exp(x)): exact for small x, inf/inf = nan for large x."""

import numpy as np

from reference import *  # noqa: F403


class SigmoidGate:
    def forward(self, x):
        self.out = np.exp(x) / (1 + np.exp(x))
        return self.out

    def backward(self, dz):
        return (1 - self.out) * self.out * dz


EXPECT = {"SigmoidGate": "stability"}
ONLY_CHECKS = {"SigmoidGate": ("stability",)}
KINDS = {"SigmoidGate": "not-finite"}
