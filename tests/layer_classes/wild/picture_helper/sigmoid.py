"""A Sigmoid layer importing its helpers with a star import (written for bpverify's tests)."""

from func import *  # noqa: F403


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = sigmoid(x)  # noqa: F405
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out
