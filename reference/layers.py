"""Vectorized layers and losses in the CS231n function style: forward returns (out, cache)."""

from __future__ import annotations

from typing import Any

import numpy as np

Cache = Any


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Cache]:
    """out = x.reshape(N, D) @ w + b for x of shape (N, d1, ..., dk) with D = d1*...*dk."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w)


def affine_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx, dw, db); dx has x's shape and db sums dout over the batch."""
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, Cache]:
    """out = max(0, x) elementwise."""
    return np.maximum(0.0, x), x


def relu_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Pass dout where x > 0.  The mask comes from the cached x, never from dout."""
    x = cache
    return np.where(x > 0, dout, 0.0)


def softmax_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(scores) against labels y, and its gradient."""
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)  # e^shifted never overflows
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    return float(loss), dscores / n


def svm_loss(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean multiclass hinge loss with margin 1, and its gradient."""
    n = scores.shape[0]
    correct = scores[np.arange(n), y][:, None]
    margins = np.maximum(0.0, scores - correct + 1.0)
    margins[np.arange(n), y] = 0.0
    loss = margins.sum() / n
    active = (margins > 0).astype(scores.dtype)
    active[np.arange(n), y] = -active.sum(axis=1)
    return float(loss), active / n
