"""The book's softmax-with-loss: exact, and with the small δ its cross_entropy_error adds.

The book's ``cross_entropy_error`` adds δ = 1e-7 inside the log (learners use 1e-7 to 1e-4); a
loss computed with any δ up to :data:`MAX_DELTA` is accepted, and the numerical checks allow for
the gradient that δ implies.  The loss falls as δ grows, so the δ a submission used is found by
bisection between the exact loss and the loss at MAX_DELTA.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.contract import check_numeric
from bpverify.grading import oracles
from bpverify.grading.checks.base import CheckFailed, expect_finite, judge, rounded
from bpverify.grading.compare import compare_values, tolerance_for, working_dtype

__all__ = ["BOOK_DELTA", "MAX_DELTA", "book_dx_shift", "book_loss", "close_to", "delta_of",
           "judge_loss_value"]

#: What the book's cross_entropy_error adds inside the log to keep it finite.
BOOK_DELTA = 1e-7
#: The largest δ inside the log accepted as "a tiny value to keep the log finite".
MAX_DELTA = 1e-3


def _probs(x: Any) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def book_loss(x: Any, y: Any, delta: float = BOOK_DELTA) -> float:
    """The mean of -log(p_t + δ), as the book's cross_entropy_error computes it."""
    p = _probs(x)
    rows = np.arange(p.shape[0])
    with np.errstate(divide="ignore"):  # δ = 0 and a probability of 0: the loss is inf
        return float(-np.mean(np.log(p[rows, y] + delta)))


def book_dx_shift(x: Any, y: Any, delta: float = BOOK_DELTA) -> np.ndarray:
    """d(book loss)/dx - d(exact loss)/dx: the δ rescales each row's gradient."""
    p = _probs(x)
    rows = np.arange(p.shape[0])
    pt = p[rows, y]
    factor = pt / (pt + delta) - 1.0
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



def delta_of(got: Any, x: Any, y: Any) -> float | None:
    """The δ in (0, MAX_DELTA] inside the log that gives the loss ``got``, or None."""
    if not close_to(got, np.clip(got, book_loss(x, y, MAX_DELTA), book_loss(x, y, 0.0))):
        return None
    lo, hi = 0.0, MAX_DELTA
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if book_loss(x, y, mid) > float(got) else (lo, mid)
    delta = (lo + hi) / 2
    return delta if delta > 0 and close_to(got, book_loss(x, y, delta)) else None


def judge_loss_value(where: str, value: Any, x: Any, y: Any) -> float:
    """Judge a softmax-with-loss value; the δ it adds inside the log (0.0: none)."""
    check_numeric(value, f"{where} (loss)")
    if np.size(value) != 1:
        raise CheckFailed("wrong-shape", f"{where} returned a loss of shape {np.shape(value)}; "
                          "expected a scalar, the mean over the batch")
    expect_finite(value, "loss", where)
    dtype = working_dtype(value)
    exact, _ = oracles.loss("softmax_loss", rounded(x, dtype), y)
    got = np.squeeze(np.asarray(value, dtype=np.float64))
    if close_to(got, exact):
        return 0.0
    delta = delta_of(got, rounded(x, dtype), y)
    if delta is not None:
        return delta
    judge(where, ["loss"], [got], [exact], tolerance_for(dtype),
          "the mean cross-entropy over the batch")
    return 0.0
