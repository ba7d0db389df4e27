"""Fully connected nets built from the sibling layer modules."""

import numpy as np

from .layers import affine_backward, affine_forward, relu_backward, relu_forward
from .losses import softmax_loss


class _FCNet:
    def __init__(self, dims, weight_scale, reg):
        self.reg = reg
        self.num_layers = len(dims) - 1
        self.params = {}
        for i in range(self.num_layers):
            self.params["W%d" % (i + 1)] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params["b%d" % (i + 1)] = np.zeros(dims[i + 1])

    def loss(self, X, y=None):
        caches = {}
        out = X
        for i in range(1, self.num_layers + 1):
            out, caches["affine%d" % i] = affine_forward(
                out, self.params["W%d" % i], self.params["b%d" % i]
            )
            if i < self.num_layers:
                out, caches["relu%d" % i] = relu_forward(out)
        scores = out
        if y is None:
            return scores
        loss, dout = softmax_loss(scores, y)
        grads = {}
        for i in reversed(range(1, self.num_layers + 1)):
            W = self.params["W%d" % i]
            loss += 0.5 * self.reg * np.sum(W * W)
            if i < self.num_layers:
                dout = relu_backward(dout, caches["relu%d" % i])
            dout, dW, db = affine_backward(dout, caches["affine%d" % i])
            grads["W%d" % i] = dW + self.reg * W
            grads["b%d" % i] = db
        return loss, grads


class TwoLayerNet(_FCNet):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        super().__init__([input_dim, hidden_dim, num_classes], weight_scale, reg)


class ThreeLayerNet(_FCNet):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dims=(100, 100), num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        super().__init__([input_dim, hidden_dims[0], hidden_dims[1], num_classes],
                         weight_scale, reg)
