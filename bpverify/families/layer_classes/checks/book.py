"""The book's softmax-with-loss: exact, and with the 1e-7 its cross_entropy_error adds.

The book's ``cross_entropy_error`` may add 1e-7 inside the log; a loss computed that way is
accepted, and the numerical checks allow for the gradient it implies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.contract import check_numeric
from bpverify.grading import oracles
from bpverify.grading.checks.base import CheckFailed, expect_finite, judge, rounded
from bpverify.grading.compare import compare_values, tolerance_for, working_dtype

__all__ = ["BOOK_DELTA", "book_dx_shift", "book_loss", "close_to", "judge_loss_value"]

#: What the book's cross_entropy_error adds inside the log to keep it finite.
BOOK_DELTA = 1e-7


def _probs(x: Any) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def book_loss(x: Any, y: Any) -> float:
    """The mean of -log(p_t + 1e-7), as the book's cross_entropy_error computes it."""
    p = _probs(x)
    rows = np.arange(p.shape[0])
    return float(-np.mean(np.log(p[rows, y] + BOOK_DELTA)))


def book_dx_shift(x: Any, y: Any) -> np.ndarray:
    """d(book loss)/dx - d(exact loss)/dx: the 1e-7 rescales each row's gradient."""
    p = _probs(x)
    rows = np.arange(p.shape[0])
    pt = p[rows, y]
    factor = pt / (pt + BOOK_DELTA) - 1.0
    g = p.copy()
    g[rows, y] -= 1.0
    return np.asarray(factor[:, None] * g / p.shape[0])


def close_to(got: Any, expected: Any) -> bool:
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if g.shape != np.shape(expected):
        return False
    return compare_values("v", g, expected, tolerance_for(working_dtype(got)))[1] == 0



def judge_loss_value(where: str, value: Any, x: Any, y: Any) -> bool:
    """Judge a softmax-with-loss value; True when it is the book's (with 1e-7) variant."""
    check_numeric(value, f"{where} (loss)")
    if np.size(value) != 1:
        raise CheckFailed("wrong-shape", f"{where} returned a loss of shape {np.shape(value)}; "
                          "expected a scalar, the mean over the batch")
    expect_finite(value, "loss", where)
    dtype = working_dtype(value)
    exact, _ = oracles.loss("softmax_loss", rounded(x, dtype), y)
    got = np.squeeze(np.asarray(value, dtype=np.float64))
    if close_to(got, exact):
        return False
    if close_to(got, book_loss(rounded(x, dtype), y)):
        return True
    judge(where, ["loss"], [got], [exact], tolerance_for(dtype),
          "the mean cross-entropy over the batch")
    return False
