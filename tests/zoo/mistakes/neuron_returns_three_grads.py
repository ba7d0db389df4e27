"""SigmoidNeuron.backward returns (dw, dx, db) with the bias gradient as a separate third value."""

import numpy as np

from reference import *  # noqa: F403


class SigmoidNeuron:
    def forward(self, w, x):
        self.w, self.x = np.asarray(w), np.asarray(x)
        z = np.dot(self.w[:-1], self.x) + self.w[-1]
        e = np.exp(-abs(z))
        self.f = 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)
        return self.f

    def backward(self, dz):
        ddot = (1 - self.f) * self.f * dz
        return self.x * ddot, self.w[:-1] * ddot, ddot


EXPECT = {"SigmoidNeuron": "backward"}
KINDS = {"SigmoidNeuron": "bad-return"}
