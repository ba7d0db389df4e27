"""TwoLayerNet's loss adds reg*sum(W**2) (no 0.5) while its gradient adds reg*W."""

import numpy as np

from reference import *  # noqa: F403
from reference import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


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
        h1, cache1 = affine_forward(X, W1, b1)
        a1, cache_relu = relu_forward(h1)
        scores, cache2 = affine_forward(a1, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += self.reg * (np.sum(W1**2) + np.sum(W2**2))
        grads = {}
        da1, dW2, grads["b2"] = affine_backward(dscores, cache2)
        dh1 = relu_backward(da1, cache_relu)
        _, dW1, grads["b1"] = affine_backward(dh1, cache1)
        grads["W1"] = dW1 + self.reg * W1
        grads["W2"] = dW2 + self.reg * W2
        return loss, grads


EXPECT = {"TwoLayerNet": "regularization"}
ONLY_CHECKS = {"TwoLayerNet": ("regularization",)}
