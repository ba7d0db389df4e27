import numpy as np
from ok_layers import *  # noqa: F403

EXPECT = {"Sigmoid": ("backward", "caches-mask", "only the 0/1 mask self.mask", "sigmoid-mask")}


class Sigmoid:
    def forward(self, x):
        out = 1 / (1 + np.exp(-x))
        self.mask = out > 0.5  # a mask cached instead of the output
        return out

    def backward(self, dout):
        return dout * (1.0 - self.mask) * self.mask
