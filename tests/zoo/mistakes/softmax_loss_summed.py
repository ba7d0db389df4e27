"""softmax_loss sums the per-sample losses instead of averaging them (the gradient is averaged)."""

import numpy as np

from reference import *  # noqa: F403


def softmax_loss(x, y):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y])
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


EXPECT = {"softmax_loss": "loss"}
