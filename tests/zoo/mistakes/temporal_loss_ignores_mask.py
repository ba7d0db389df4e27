"""temporal_softmax_loss counts every step, the masked-out padding included."""

import numpy as np

from reference import *  # noqa: F403


def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    x_flat, y_flat = x.reshape(N * T, V), y.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N * T), y_flat])) / N
    dx = probs.copy()
    dx[np.arange(N * T), y_flat] -= 1
    dx /= N
    return loss, dx.reshape(N, T, V)


EXPECT = {"temporal_softmax_loss": "loss"}
DIAGNOSIS = "mask-ignored"
