"""The lecture's gates."""

import numpy as np

from ._math import sigmoid


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


class MaxGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return np.maximum(x, y)

    def backward(self, dz):
        x_wins = np.asarray(self.x) >= np.asarray(self.y)
        return dz * x_wins, dz * (1 - x_wins)


class ExpGate:
    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, dz):
        return dz * self.out


class ReciprocalGate:
    def forward(self, x):
        self.x = x
        return 1 / x

    def backward(self, dz):
        return -dz / self.x**2


class AddConstGate:
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x + self.c

    def backward(self, dz):
        return dz


class ScaleGate:
    def __init__(self, a):
        self.a = a

    def forward(self, x):
        return self.a * x

    def backward(self, dz):
        return self.a * dz


class SigmoidGate:
    def forward(self, x):
        self.s = sigmoid(x)
        return self.s

    def backward(self, dz):
        return (1 - self.s) * self.s * dz


class SigmoidNeuron:
    def forward(self, w, x):
        self.w, self.x = np.asarray(w, dtype=float), np.asarray(x, dtype=float)
        self.s = sigmoid(np.dot(self.w[:-1], self.x) + self.w[-1])
        return self.s

    def backward(self, dz):
        dsum = (1 - self.s) * self.s * dz
        dw = np.concatenate([self.x, [1.0]]) * dsum
        return dw, self.w[:-1] * dsum
