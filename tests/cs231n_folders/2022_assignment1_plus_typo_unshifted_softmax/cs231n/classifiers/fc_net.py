from builtins import range
from builtins import object
import numpy as np

from ..layers import *
from ..layer_utils import *


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params["W1"] = np.random.normal(0.0, weight_scale, (input_dim, hidden_dim))
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = np.random.normal(0.0, weight_scale, (hidden_dim, num_classes))
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        scores = None
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h, c1 = affine_forward(X, W1, b1)
        a, c2 = relu_forward(h)
        scores, c3 = affine_forward(a, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
        da, dW2, db2 = affine_backward(dscores, c3)
        dh = relu_backward(da, c2)
        _, dW1, db1 = affine_backward(dh, c1)
        dW1 += self.reg * W1
        dW2 += self.reg + W2
        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        return loss, grads
