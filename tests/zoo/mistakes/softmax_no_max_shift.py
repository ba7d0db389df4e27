"""softmax_loss exponentiates raw scores: right for small scores, overflows to nan for large ones."""

import numpy as np

from reference import *  # noqa: F403


def softmax_loss(x, y):
    N = x.shape[0]
    exp_scores = np.exp(x)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


EXPECT = {"softmax_loss": "stability"}
ONLY_CHECKS = {"softmax_loss": ("stability", "margins")}  # margins: advisory, 0 points
KINDS = {"softmax_loss": "not-finite"}
