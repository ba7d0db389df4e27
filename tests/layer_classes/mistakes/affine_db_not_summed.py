import numpy as np
from ok_layers import *  # noqa: F403

EXPECT = {"Affine": ("backward", "wrong-shape", "db", "not-summed-over-batch"),
          "TwoLayerNet (layers)": ("gradients", "wrong-shape", "Guilty: Affine2.backward",
                                   "not-summed-over-batch")}


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.dot(self.x.T, dout)
        self.db = dout  # not summed over the batch
        return np.dot(dout, self.W.T).reshape(self.shape)
