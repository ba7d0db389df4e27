"""TwoLayerNet backpropagates straight from the second affine layer into the first, skipping ReLU."""

import numpy as np

from reference import *  # noqa: F403
from reference import affine_backward, affine_forward, relu_forward, softmax_loss


class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        a1, cache1 = affine_forward(X, W1, b1)
        h1, _ = relu_forward(a1)
        scores, cache2 = affine_forward(h1, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dh1, dW2, grads["b2"] = affine_backward(dscores, cache2)
        _, dW1, grads["b1"] = affine_backward(dh1, cache1)
        grads["W1"] = dW1 + self.reg * W1
        grads["W2"] = dW2 + self.reg * W2
        return loss, grads


EXPECT = {"TwoLayerNet": "gradients"}
