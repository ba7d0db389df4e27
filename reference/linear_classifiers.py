"""CS231n assignment 1's linear classifier losses, naive (loops) and vectorized.

Each takes W (D, C), X (N, D), labels y (N,) and reg, and returns (loss, dW): the mean data
loss plus reg·ΣW² (the 2017+ starters' term), and its gradient 2·reg·W added to dW.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def svm_loss_naive(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    dW = np.zeros(W.shape)
    num_classes, num_train = W.shape[1], X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = margins.sum() / num_train + reg * np.sum(W * W)
    counts = (margins > 0).astype(X.dtype)
    counts[rows, y] = -counts.sum(axis=1)
    dW = X.T.dot(counts) / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_naive(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    dW = np.zeros_like(W)
    num_classes, num_train = W.shape[1], X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        scores = scores - np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss -= np.log(probs[y[i]])
        for j in range(num_classes):
            dW[:, j] += (probs[j] - (j == y[i])) * X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W: Any, X: Any, y: Any, reg: float) -> tuple[float, Any]:
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X.dot(W)
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean() + reg * np.sum(W * W)
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dW = X.T.dot(dscores) / num_train + 2 * reg * W
    return loss, dW
