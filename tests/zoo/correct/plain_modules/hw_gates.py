"""The gates, in a plain module of a folder without __init__.py."""

import numpy as np


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))  # never overflows


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
        return dz * self.y, dz * self.x


class MaxGate:
    def forward(self, x, y):
        self.x_wins = np.greater_equal(x, y)
        return np.maximum(x, y)

    def backward(self, dz):
        return np.where(self.x_wins, dz, 0.0), np.where(self.x_wins, 0.0, dz)


class ExpGate:
    def forward(self, x):
        self.e = np.exp(x)
        return self.e

    def backward(self, dz):
        return self.e * dz


class ReciprocalGate:
    def forward(self, x):
        self.inv = 1.0 / x
        return self.inv

    def backward(self, dz):
        return -self.inv * self.inv * dz


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
        self.s = _sigmoid(x)
        return self.s

    def backward(self, dz):
        return (1.0 - self.s) * self.s * dz


class SigmoidNeuron:
    def forward(self, w, x):
        self.w, self.x = np.asarray(w), np.asarray(x)
        self.s = _sigmoid(self.w[:-1] @ self.x + self.w[-1])
        return self.s

    def backward(self, dz):
        g = (1.0 - self.s) * self.s * dz
        return np.r_[self.x, 1.0] * g, self.w[:-1] * g
