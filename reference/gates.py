"""The lecture's gates: each forward caches exactly what its backward needs.

``backward(dout)`` multiplies the upstream gradient ``dout`` by the gate's local gradient
(the chain rule) and returns one gradient per input.  Inputs may be Python floats or
float64 arrays of any shape; two-input gates take two inputs of the same shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Value = Any  # a Python float or a float64 ndarray


def _sigmoid(x: Value) -> Value:
    # Stable for large |x|: exp is only ever taken of a non-positive number.
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class AddGate:
    """z = x + y.  A gradient distributor: both inputs receive dz unchanged."""

    def forward(self, x: Value, y: Value) -> Value:
        return x + y

    def backward(self, dz: Value) -> tuple[Value, Value]:
        return dz, dz


class MultiplyGate:
    """z = x * y.  A gradient switcher: each input receives dz times the *other* input."""

    def forward(self, x: Value, y: Value) -> Value:
        self.x, self.y = x, y
        return x * y

    def backward(self, dz: Value) -> tuple[Value, Value]:
        return self.y * dz, self.x * dz


class MaxGate:
    """z = max(x, y) elementwise.  A gradient router: dz goes to the larger input.

    At a tie any split is a valid subgradient; this one sends dz to x.
    """

    def forward(self, x: Value, y: Value) -> Value:
        self.x_wins = np.asarray(x) >= np.asarray(y)
        return np.maximum(x, y)

    def backward(self, dz: Value) -> tuple[Value, Value]:
        return np.where(self.x_wins, dz, 0.0), np.where(self.x_wins, 0.0, dz)


class ExpGate:
    """z = e^x.  The local gradient is e^x itself, so forward caches its output."""

    def forward(self, x: Value) -> Value:
        self.z = np.exp(x)
        return self.z

    def backward(self, dz: Value) -> Value:
        return self.z * dz


class ReciprocalGate:
    """z = 1/x, with local gradient -1/x^2."""

    def forward(self, x: Value) -> Value:
        self.x = x
        return 1.0 / x

    def backward(self, dz: Value) -> Value:
        return -dz / (self.x * self.x)


class AddConstGate:
    """z = x + c for a constant c (the lecture's "+1" gate is AddConstGate(1))."""

    def __init__(self, c: float) -> None:
        self.c = c

    def forward(self, x: Value) -> Value:
        return x + self.c

    def backward(self, dz: Value) -> Value:
        return dz


class ScaleGate:
    """z = a*x for a constant a (the lecture's "*-1" gate is ScaleGate(-1))."""

    def __init__(self, a: float) -> None:
        self.a = a

    def forward(self, x: Value) -> Value:
        return self.a * x

    def backward(self, dz: Value) -> Value:
        return self.a * dz


class SigmoidGate:
    """z = sigma(x) = 1/(1 + e^-x), with the lecture's shortcut dz/dx = (1 - z) z."""

    def forward(self, x: Value) -> Value:
        self.z = _sigmoid(x)
        return self.z

    def backward(self, dz: Value) -> Value:
        return (1.0 - self.z) * self.z * dz


class SigmoidNeuron:
    """f(w, x) = sigma(w[0]*x[0] + ... + w[D-1]*x[D-1] + w[D]); backward returns (dw, dx).

    The lecture's example: w = (2, -3, -3), x = (-1, -2) gives 0.73,
    dw = (-0.20, -0.39, 0.20) and dx = (0.39, -0.59).
    """

    def forward(self, w: Value, x: Value) -> Value:
        self.w, self.x = np.asarray(w), np.asarray(x)
        self.z = _sigmoid(self.w[:-1] @ self.x + self.w[-1])
        return self.z

    def backward(self, dz: Value) -> tuple[Value, Value]:
        dsum = (1.0 - self.z) * self.z * dz
        dw = np.append(self.x, 1.0) * dsum
        dx = self.w[:-1] * dsum
        return dw, dx
