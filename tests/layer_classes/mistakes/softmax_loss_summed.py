import numpy as np
from ok_layers import *  # noqa: F403

EXPECT = {"SoftmaxWithLoss": ("forward", "wrong-values", "loss", "not-averaged"),
          "TwoLayerNet (layers)": ("loss", "wrong-values", "Guilty: SoftmaxWithLoss.forward",
                                   "not-averaged")}


class SoftmaxWithLoss:
    def forward(self, x, t):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        self.y = e / e.sum(axis=1, keepdims=True)
        self.t = t
        labels = t.argmax(axis=1) if t.ndim == 2 else t
        return -np.sum(np.log(self.y[np.arange(len(x)), labels]))  # summed, not averaged

    def backward(self, dout=1):
        dx = self.y.copy()
        if self.t.ndim == 2:
            dx -= self.t
        else:
            dx[np.arange(len(dx)), self.t] -= 1
        return dx / len(dx)  # averaged
