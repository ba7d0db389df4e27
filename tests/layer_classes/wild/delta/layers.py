"""A SoftmaxWithLoss whose cross-entropy adds 1e-4 inside the log, where the book adds 1e-7
(seen in a learner's repository; written for bpverify's tests): a tiny value that keeps the log
finite, so the loss is right."""

import numpy as np


def softmax(x):
    x = x - np.max(x, axis=1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)


def cross_entropy_error(y, t):
    if t.ndim == 2:
        t = t.argmax(axis=1)
    batch_size = t.shape[0]
    h = 1e-4
    return -np.sum(np.log(y[np.arange(batch_size), t] + h)) / batch_size


class SoftmaxWithLoss:
    def __init__(self):
        self.t = None
        self.y = None
        self.loss = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.y.shape[0]
        return (self.y - self.t) / batch_size
