"""The nets, importing the sibling plain module by its top-level name."""

import numpy as np

from hw_layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {
            "W1": np.random.normal(0, weight_scale, (input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": np.random.normal(0, weight_scale, (hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        h, c1 = affine_forward(X, self.params["W1"], self.params["b1"])
        a, cr = relu_forward(h)
        scores, c2 = affine_forward(a, self.params["W2"], self.params["b2"])
        if y is None:
            return scores
        W1, W2 = self.params["W1"], self.params["W2"]
        loss, ds = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1**2) + np.sum(W2**2))
        da, dW2, db2 = affine_backward(ds, c2)
        _, dW1, db1 = affine_backward(relu_backward(da, cr), c1)
        return loss, {"W1": dW1 + self.reg * W1, "b1": db1, "W2": dW2 + self.reg * W2, "b2": db2}


class ThreeLayerNet:
    def __init__(self, input_dim, hidden_dims=(100, 100), num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        self.reg = reg
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, 4):
            self.params[f"W{i}"] = np.random.normal(0, weight_scale, (dims[i - 1], dims[i]))
            self.params[f"b{i}"] = np.zeros(dims[i])

    def loss(self, X, y=None):
        p = self.params
        h1, c1 = affine_forward(X, p["W1"], p["b1"])
        a1, r1 = relu_forward(h1)
        h2, c2 = affine_forward(a1, p["W2"], p["b2"])
        a2, r2 = relu_forward(h2)
        scores, c3 = affine_forward(a2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, ds = softmax_loss(scores, y)
        grads = {}
        da2, grads["W3"], grads["b3"] = affine_backward(ds, c3)
        da1, grads["W2"], grads["b2"] = affine_backward(relu_backward(da2, r2), c2)
        _, grads["W1"], grads["b1"] = affine_backward(relu_backward(da1, r1), c1)
        for i in range(1, 4):
            W = p[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads
