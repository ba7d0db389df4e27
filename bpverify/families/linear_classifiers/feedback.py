"""Diagnoses of the linear classifier losses, read from a failed check's example and values.

The example holds W, X, y and reg; a failed gradient check holds, beside dW, the loss the
same call returned and the loss of the convention dW was judged by (``loss`` in got and
expected), so the regularization factor the submission's loss uses is known.  Each rule
recomputes the data loss (or its gradient) in numpy and names a mistake only when the
returned value is exactly that mistake's value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr, match
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["IDEAS", "MISTAKES", "diagnose"]

IDEAS: dict[str, str] = {
    "svm-sum": "the SVM loss sums the hinges max(0, s_j - s_y + 1) over the incorrect classes "
               "j ≠ y only: the correct class would add max(0, 1) = 1 to every example",
    "linear-reg": "the loss is the data loss plus the regularization loss, and the gradient "
                  "of each term goes into dW: d(reg·ΣW²)/dW = 2·reg·W, d(0.5·reg·ΣW²)/dW = "
                  "reg·W",
}
MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("svm-counts-correct-class", "svm-sum",
                 "counted the correct class in the SVM loss"),
    KnownMistake("reg-gradient-factor", "linear-reg",
                 "added a regularization gradient that does not match the loss's term"),
)


def _inputs(check: CheckResult) -> tuple[Any, Any, Any, float] | None:
    ex = dict(check.example or {})
    W, X, y = arr(ex.get("W")), arr(ex.get("X")), arr(ex.get("y"))
    reg = ex.get("reg")
    if W is None or X is None or y is None or W.ndim != 2 or X.ndim != 2 \
            or not isinstance(reg, (int, float)):
        return None
    return W, X, y.astype(int), float(reg)


def _data(kind: str, W: Any, X: Any, y: Any) -> tuple[float, Any]:
    """The mean data loss and its gradient (strict hinge), in numpy."""
    S = X @ W
    n, rows = S.shape[0], np.arange(S.shape[0])
    if kind == "svm":
        margins = S - S[rows, y][:, None] + 1.0
        margins[rows, y] = 0.0
        live = (margins > 0).astype(float)
        live[rows, y] = -live.sum(axis=1)
        return float(np.maximum(margins, 0.0).sum() / n), X.T @ live / n
    shifted = S - S.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = float(-np.log(p[rows, y]).mean())
    p[rows, y] -= 1.0
    return loss, X.T @ p / n


def _loss_rule(kind: str, check: CheckResult, got: float) -> Diagnosis | None:
    inputs = _inputs(check)
    if inputs is None:
        return None
    W, X, y, reg = inputs
    n = X.shape[0]
    data, _ = _data(kind, W, X, y)
    R = float(np.sum(W * W))
    counted = summed = False
    for f in (1.0, 0.5):
        term = f * reg * R
        counted = counted or (kind == "svm" and match(got, data + term + 1.0))
        summed = summed or (n > 1 and (match(got, n * data + term)
                                       or match(got, n * (data + term))))
    if counted and summed:
        # A mean data loss of 1/(N-1) fits both: the loss of the same batch twice over tells
        # them apart (a mean does not change, a sum doubles).
        twice = arr(dict(check.got or {}).get("loss, the batch twice"))
        if twice is None or not np.isfinite(twice).all():
            return None
        counted, summed = match(twice, got), not match(twice, got)
    if counted:
        return found("svm-counts-correct-class", "the loss is 1 more than the right one: "
                     "every example adds the correct class's own hinge max(0, s_y - s_y + 1) "
                     "= 1 (skip j == y[i])", subject="loss")
    if summed:
        return found("not-averaged", f"the loss is N = {n} times the mean data loss: the "
                     "examples' losses are summed, not averaged (divide by num_train)",
                     subject="loss")
    if reg > 0 and R > 0 and match(got, data):
        return found("missing-regularization", "the loss is the data loss alone, without "
                     "reg·ΣW²", subject="the loss")
    return None


def _gradient_rule(kind: str, check: CheckResult) -> Diagnosis | None:
    inputs = _inputs(check)
    exp, got = dict(check.expected or {}), dict(check.got or {})
    g, e = arr(got.get("dW")), arr(exp.get("dW"))
    if inputs is None or g is None or e is None or g.shape != e.shape:
        return None
    W, X, _, reg = inputs
    n = X.shape[0]
    f = 0.5 if _half(kind, exp.get("loss"), inputs) else 1.0
    data_g = e - 2.0 * f * reg * W  # the data part of the valid gradient judged against
    if g.size and not g.any() and not match(data_g, 0 * data_g):
        # (where the data gradient is 0 too, a zero dW is exactly "no regularization gradient")
        return found("gradient-dropped", "dW is all zeros (the starter's placeholder "
                     "np.zeros: the gradient was never computed)", subject="dW")
    term = "0.5·reg·ΣW²" if f == 0.5 else "reg·ΣW²"
    if reg > 0 and np.any(W != 0):
        if match(g, data_g):
            return found("missing-regularization", f"dW has no regularization gradient: the "
                         f"loss adds {term}, whose gradient is {2 * f:g}·reg·W", subject="dW")
        for k, what in ((f, "reg·W" if f == 1 else "0.5·reg·W"),
                        (4 * f, "4·reg·W" if f == 1 else "2·reg·W")):
            if match(g, data_g + k * reg * W):
                return found("reg-gradient-factor", f"dW adds {what}, but the loss adds "
                             f"{term}, whose gradient is {2 * f:g}·reg·W", subject="dW")
    if n > 1 and (match(g, n * data_g + 2 * f * reg * W) or match(g, n * e)):
        return found("not-averaged", f"dW is N = {n} times the right data gradient: the "
                     "examples' gradients are summed, not averaged (divide by num_train)",
                     subject="dW")
    return None


def _half(kind: str, judged_loss: Any, inputs: tuple[Any, Any, Any, float]) -> bool:
    """Whether the loss dW was judged against is the one with 0.5·reg·ΣW²."""
    W, X, y, reg = inputs
    data, R = _data(kind, W, X, y)[0], float(np.sum(W * W))
    return bool(reg > 0 and R > 0 and judged_loss is not None
                and match(judged_loss, data + 0.5 * reg * R))


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The mistake behind a failed check of a linear classifier loss, or None."""
    kind = "svm" if item.name.startswith("svm") else "softmax"
    if check.name == "stability" and (check.kind == "not-finite" or any(
            (a := arr(v)) is not None and not np.all(np.isfinite(a))
            for v in dict(check.got or {}).values())):
        return found("overflow", "the scores here are around ±1000 and exp of them overflowed "
                     "to inf: subtract each row's max score before exp", subject=item.name)
    if check.name == "numerical" and check.kind == "numerical":
        return _numerical(check, item)
    if check.kind != "wrong-values":
        return None
    got = dict(check.got or {})
    if check.name == "loss" and "loss" in got:
        return _loss_rule(kind, check, got["loss"])
    if check.name == "gradient":
        return _gradient_rule(kind, check)
    return None


def _numerical(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """A dW that disagrees with the submission's own loss: the gradient check's diagnosis,
    when that check failed too (it has the values to name the mistake)."""
    gradient = next((c for c in item.checks if c.name == "gradient"), None)
    if gradient is not None and gradient.status == "failed" and gradient.kind == "wrong-values":
        return _gradient_rule("svm" if item.name.startswith("svm") else "softmax", gradient)
    return None
