"""Correct classes under learners' spellings, one a typo; a SoftmaxWithLoss ignoring dout."""

import numpy as np


class Mullayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * self.x


class AddLayer:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout, dout


class ReLU:
    def forward(self, x):
        self.keep = x > 0
        return np.where(self.keep, x, 0.0)

    def backward(self, dout):
        return np.where(self.keep, dout, 0.0)


class Sigmiod:
    def forward(self, x):
        self.out = 0.5 * (1 + np.tanh(0.5 * x))
        return self.out

    def backward(self, dout):
        return dout * self.out * (1 - self.out)


class AffineLayer:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x_shape = x.shape
        self.x = x.reshape(len(x), -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T).reshape(self.x_shape)


class SoftMaxWithLoss:
    def forward(self, x, t):
        z = x - x.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # log-sum-exp
        self.p = np.exp(log_p)
        self.t = t if t.ndim == 2 else np.eye(x.shape[1])[t]
        return -np.mean(np.sum(self.t * log_p, axis=1))

    def backward(self, dout=1):
        return (self.p - self.t) / len(self.t)
