"""Layers on an abstract base class, with Sigmoid's backward misspelled (written for bpverify's
tests): the class cannot even be built, and the interface check says why."""

from abc import ABC, abstractmethod

EXPECT = {"Sigmoid": ("interface", "misspelled-method",
                      "Sigmoid leaves the abstract method backward of its base class undefined; "
                      "it defines backword — a typo?", "misspelled-method")}

import numpy as np


class Layer(ABC):
    @abstractmethod
    def forward(self, x):
        ...

    @abstractmethod
    def backward(self, dout):
        ...


class Sigmoid(Layer):
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backword(self, dout):
        return dout * (1.0 - self.out) * self.out
