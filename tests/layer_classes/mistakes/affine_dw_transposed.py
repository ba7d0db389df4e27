import numpy as np
from ok_layers import *  # noqa: F403

EXPECT = {"Affine": ("backward", "", "dW", "transposed"),
          "TwoLayerNet (layers)": ("gradients", "", "Guilty: Affine2.backward", "transposed")}


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.dot(dout.T, self.x)  # transposed
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T).reshape(self.shape)
