"""ThreeLayerNet.loss(X) with y=None falls through to the loss and crashes on y = None."""

import numpy as np

from reference import *  # noqa: F403
from reference import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class ThreeLayerNet:
    def __init__(self, input_dim, hidden_dims=(100, 100), num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        h1, h2 = hidden_dims
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, h1),
            "b1": np.zeros(h1),
            "W2": weight_scale * np.random.randn(h1, h2),
            "b2": np.zeros(h2),
            "W3": weight_scale * np.random.randn(h2, num_classes),
            "b3": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        p = self.params
        a1, c1 = affine_forward(X, p["W1"], p["b1"])
        h1, r1 = relu_forward(a1)
        a2, c2 = affine_forward(h1, p["W2"], p["b2"])
        h2, r2 = relu_forward(a2)
        scores, c3 = affine_forward(h2, p["W3"], p["b3"])
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * sum(np.sum(p[f"W{i}"] ** 2) for i in (1, 2, 3))
        grads = {}
        dh2, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
        dh1, grads["W2"], grads["b2"] = affine_backward(relu_backward(dh2, r2), c2)
        _, grads["W1"], grads["b1"] = affine_backward(relu_backward(dh1, r1), c1)
        for i in (1, 2, 3):
            grads[f"W{i}"] += self.reg * p[f"W{i}"]
        return loss, grads


EXPECT = {"ThreeLayerNet": "scores"}
KINDS = {"ThreeLayerNet": "bad-return"}
