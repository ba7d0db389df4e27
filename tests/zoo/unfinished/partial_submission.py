"""A student halfway through: only the add and multiply gates and relu_forward exist so far."""

import numpy as np


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return self.y * dz, self.x * dz


def relu_forward(x):
    return np.maximum(0, x), x


# relu_backward is missing, so the relu_backward item (which needs both) is not implemented.
# Items that must pass; every other item must come back "not implemented".
IMPLEMENTED = ("AddGate", "MultiplyGate", "relu_forward", "circuit (x+y)*z")
