"""A submission that does not parse: a missing colon after a def."""

import numpy as np


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz)
        return self.y * dz, self.x * dz


def relu_forward(x):
    return np.maximum(0, x), x
