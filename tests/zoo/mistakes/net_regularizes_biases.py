"""ThreeLayerNet regularizes every parameter, biases included, in the loss and the gradients."""

import numpy as np

from reference import *  # noqa: F403
from reference import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class ThreeLayerNet:
    def __init__(self, input_dim, hidden_dims=(100, 100), num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        dims = [input_dim, *hidden_dims, num_classes]
        self.reg = reg
        self.params = {}
        for i in range(3):
            self.params[f"W{i + 1}"] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])

    def loss(self, X, y=None):
        caches = []
        h = X
        for i in (1, 2, 3):
            h, c = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(c)
            if i < 3:
                h, c = relu_forward(h)
                caches.append(c)
        if y is None:
            return h
        loss, dh = softmax_loss(h, y)
        grads = {}
        for k, v in self.params.items():
            loss += 0.5 * self.reg * np.sum(v * v)
        for i in (3, 2, 1):
            if i < 3:
                dh = relu_backward(dh, caches.pop())
            dh, dW, db = affine_backward(dh, caches.pop())
            grads[f"W{i}"] = dW + self.reg * self.params[f"W{i}"]
            grads[f"b{i}"] = db + self.reg * self.params[f"b{i}"]
        return loss, grads


EXPECT = {"ThreeLayerNet": "regularization"}
ONLY_CHECKS = {"ThreeLayerNet": ("regularization",)}
