"""softmax_loss_naive takes exp of the raw scores: it overflows for scores around 1000."""

import numpy as np

from reference import *  # noqa: F403


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(probs[y[i]])
        for j in range(W.shape[1]):
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


EXPECT = {"softmax_loss_naive": "stability"}
ONLY_CHECKS = {"softmax_loss_naive": ["stability"]}
DIAGNOSIS = "overflow"
