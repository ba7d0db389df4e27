"""The JAX float64 oracle of the linear classifiers, and the valid subgradients of the hinge.

The data loss (mean over the batch) and its gradient come from ``jax.value_and_grad`` of the
loss of the scores ``X @ W``, in :func:`bpverify.grading.oracles.float64`, compiled once: every
input is zero-padded to 8 x 8 x 8 (padded classes are masked, padded rows weigh nothing).  The
regularization ``f·reg·ΣW²`` and its gradient ``2·f·reg·W`` are added in numpy, for the factor
``f`` the checks judge by.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bpverify.grading import oracles

__all__ = ["PAD", "data_loss", "expected", "hinge_ties", "kind_of", "valid_subgradient"]

#: The padded N, D and C: the strategies draw at most 5 examples, 6 features and 5 classes.
PAD = 8
_MASKED = -1e30


def _softmax(scores: Any, y: Any, rows: Any, classes: Any) -> Any:
    """The core's masked cross-entropy, with padded classes taken out of the softmax."""
    return oracles.softmax_data_loss(jnp.where(classes[None, :] > 0, scores, _MASKED), y, rows)


@functools.cache
def _compiled(kind: str) -> Any:
    loss = oracles.svm_data_loss if kind == "svm" else _softmax

    def run(W: Any, X: Any, y: Any, rows: Any, classes: Any) -> Any:
        return jax.value_and_grad(lambda w: loss(X @ w, y, rows, classes))(W)

    return jax.jit(run)


def _pad(a: Any, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    out = np.zeros(shape)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def kind_of(name: str) -> str:
    """"svm" or "softmax" for an item's name."""
    return "svm" if name.startswith("svm") else "softmax"


def data_loss(kind: str, W: Any, X: Any, y: Any) -> tuple[float, np.ndarray]:
    """The mean data loss of the scores ``X @ W`` and its gradient with respect to W."""
    W, X = np.asarray(W, dtype=np.float64), np.asarray(X, dtype=np.float64)
    n, (d, c) = X.shape[0], W.shape
    if max(n, d, c) > PAD:
        raise ValueError(f"linear classifier oracle: N, D, C = {n}, {d}, {c}; at most {PAD}")
    with oracles.float64():  # JAX in float64 on the CPU here only; the user's JAX untouched
        value, grad = _compiled(kind)(
            _pad(W, (PAD, PAD)), _pad(X, (PAD, PAD)),
            _pad(np.asarray(y), (PAD,)).astype(np.int64), _pad(np.ones(n), (PAD,)),
            _pad(np.ones(c), (PAD,)))
        return float(value), np.asarray(grad)[:d, :c]


def expected(kind: str, W: Any, X: Any, y: Any, reg: float,
             factor: float) -> tuple[float, np.ndarray]:
    """(loss, dW) with the regularization ``factor·reg·ΣW²``."""
    value, grad = data_loss(kind, W, X, y)
    W = np.asarray(W, dtype=np.float64)
    return value + factor * reg * float(np.sum(W * W)), grad + 2.0 * factor * reg * W


def hinge_ties(W: Any, X: Any, y: Any, within: float = 0.0) -> np.ndarray:
    """Where a hinge margin s_j - s_y + 1 is 0 (within ``within``), j != y: (N, C) booleans."""
    S = np.asarray(X, dtype=np.float64) @ np.asarray(W, dtype=np.float64)
    rows = np.arange(S.shape[0])
    margins = S - S[rows, y][:, None] + 1.0
    tie = np.abs(margins) <= within
    tie[rows, y] = False
    return tie


def _box_least_squares(A: np.ndarray, r: np.ndarray, lo: np.ndarray,
                       hi: np.ndarray) -> np.ndarray:
    """a in the box [lo, hi] minimising |a @ A - r|: every vertex when there are few, then
    coordinate descent from the best (each step can only lower the residual)."""
    k = A.shape[0]
    a = np.clip(np.zeros(k), lo, hi)
    if k <= 10:
        grid = np.array(list(itertools.product(*zip(lo, hi))), dtype=np.float64)
        a = grid[int(np.argmin(np.linalg.norm(grid @ A - r, axis=1)))].copy()
    G, b = A @ A.T, A @ r
    for _ in range(100):
        for t in range(k):
            if G[t, t] > 0:
                a[t] = np.clip(a[t] + (b[t] - G[t] @ a) / G[t, t], lo[t], hi[t])
    return a


def valid_subgradient(W: Any, X: Any, y: Any, got: Any, base: Any, within: float) -> Any:
    """The valid subgradient of the SVM loss closest to ``got``.

    ``base`` is the oracle's dW (a hinge counts where its margin is > 0).  At a margin of 0 any
    share a in [0, 1] of the hinge's gradient X[i] (e_j - e_y) / N is valid, so the closest
    valid dW is found over those shares; without ties it is ``base`` itself.
    """
    tie = hinge_ties(W, X, y, within)
    g = np.asarray(got, dtype=np.float64)
    if not tie.any() or g.shape != np.shape(base):
        return base
    X = np.asarray(X, dtype=np.float64)
    S = X @ np.asarray(W, dtype=np.float64)
    n, c = S.shape[0], S.shape[1]
    rows = np.arange(n)
    counted = (S - S[rows, y][:, None] + 1.0) > 0  # the oracle's choice at each tie
    idx = np.argwhere(tie)
    A = np.zeros((len(idx), X.shape[1] * c))
    for t, (i, j) in enumerate(idx):
        e = np.zeros(c)
        e[j], e[y[i]] = 1.0, -1.0
        A[t] = np.outer(X[i], e).ravel() / n
    lo = np.array([-1.0 if counted[i, j] else 0.0 for i, j in idx])
    a = _box_least_squares(A, (g - base).ravel(), lo, lo + 1.0)
    return np.asarray(base) + (a @ A).reshape(np.shape(base))
