"""SigmoidNeuron.backward returns dw for the weights only, forgetting the bias entry w[D]."""

import numpy as np

from reference import *  # noqa: F403


class SigmoidNeuron:
    def forward(self, w, x):
        self.w, self.x = np.asarray(w), np.asarray(x)
        z = np.dot(self.w[:-1], self.x) + self.w[-1]
        self.f = 1.0 / (1.0 + np.exp(-z))
        return self.f

    def backward(self, dz):
        ddot = (1 - self.f) * self.f * dz
        dw = self.x * ddot
        dx = self.w[:-1] * ddot
        return dw, dx


EXPECT = {"SigmoidNeuron": "backward"}
KINDS = {"SigmoidNeuron": "wrong-shape"}
