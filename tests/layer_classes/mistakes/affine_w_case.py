import numpy as np
from ok_layers import *  # noqa: F403

EXPECT = {"Affine": ("forward", "raised", "stored as self.W but read as self.w",
                     "misnamed-attribute"),
          "TwoLayerNet (layers)": ("loss", "raised", "self.w", "misnamed-attribute")}


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def forward(self, x):
        self.x = x
        return np.dot(x, self.w) + self.b

    def backward(self, dout):
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T)
