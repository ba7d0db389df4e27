"""softmax_loss returns the probabilities as the gradient, forgetting to subtract 1 at the label."""

import numpy as np

from reference import *  # noqa: F403


def softmax_loss(x, y):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dx = probs / N
    return loss, dx


EXPECT = {"softmax_loss": "gradient"}
