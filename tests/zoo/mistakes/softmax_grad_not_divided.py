"""softmax_loss averages the loss over N but forgets to divide the gradient by N."""

import numpy as np

from reference import *  # noqa: F403


def softmax_loss(x, y):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx


EXPECT = {"softmax_loss": "gradient"}
