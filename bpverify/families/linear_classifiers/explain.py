"""The drawing of a failed linear classifier loss: the loss and its gradient, term by term.

The SVM's (or softmax's) loss written as the course writes it, each line with its value at the
minimal example (computed here from W, X, y and reg), the submission's loss or dW under it, and
the term of the diagnosed mistake ringed: the correct class counted among the hinges, the 1/N
left out, the regularization term or its gradient missing or with the wrong factor.  Without a
diagnosis nothing is ringed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.linear_classifiers.contract import REG_FACTORS
from bpverify.feedback.patterns import arr
from bpverify.feedback.words import num
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Formula, Line

__all__ = ["figure"]

#: The lines of each loss: (code, the key of its value, the mistakes that ring it, its note).
_LINES: dict[str, tuple[tuple[str, str, dict[str, str]], ...]] = {
    "svm": (
        ("s = X·W", "s", {}),
        ("hinge_ij = max(0, s_j - s_y + 1), j ≠ y_i", "hinges",
         {"svm-counts-correct-class": "yours also counts j = y_i: +1 per example"}),
        ("data = (1/N)·Σ_i Σ_j hinge_ij", "data",
         {"not-averaged": "yours: the sum, without 1/N"}),
        ("loss = data + reg·ΣW²", "loss", {"missing-regularization": "reg term missing"}),
        ("dW = (1/N)·Xᵀ·dS + 2·reg·W", "dW",
         {"reg-gradient-factor": "yours: another factor of reg·W",
          "gradient-dropped": "yours: all zeros"}),
    ),
    "softmax": (
        ("s = X·W - max_j (X·W)_j", "s", {"overflow": "yours: exp without the max shift"}),
        ("p = e^s / Σ_j e^s_j", "p", {}),
        ("data = -(1/N)·Σ_i log p_i,y_i", "data",
         {"not-averaged": "yours: the sum, without 1/N"}),
        ("loss = data + reg·ΣW²", "loss", {"missing-regularization": "reg term missing"}),
        ("dW = (1/N)·Xᵀ·(p - onehot(y)) + 2·reg·W", "dW",
         {"reg-gradient-factor": "yours: another factor of reg·W",
          "gradient-dropped": "yours: all zeros"}),
    ),
}


def _values(kind: str, W: Any, X: Any, y: Any, reg: float, f: float,
            at: tuple[int, ...] | None) -> tuple[dict[str, str], float]:
    S = X @ W
    n, rows = S.shape[0], np.arange(S.shape[0])
    out = {"s": f"row 0: {', '.join(num(v) for v in S[0][:4])}"}
    if kind == "svm":
        hinge = np.maximum(0.0, S - S[rows, y][:, None] + 1.0)
        hinge[rows, y] = 0.0
        data = float(hinge.sum() / n)
        live = (S - S[rows, y][:, None] + 1.0 > 0).astype(float)
        live[rows, y] = 0.0
        live[rows, y] = -live.sum(axis=1)
        dW = X.T @ live / n
        out["hinges"] = f"Σ = {num(hinge.sum())}"
    else:
        shifted = S - S.max(axis=1, keepdims=True)
        p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        data = float(-np.log(p[rows, y]).mean())
        p[rows, y] -= 1.0
        dW = X.T @ p / n
        out["p"] = f"p_0,y_0 = {num(p[0, y[0]] + 1.0)}"
    dW = dW + 2 * f * reg * W
    loss = data + f * reg * float(np.sum(W * W))
    out["data"], out["loss"] = num(data), num(loss)
    if at is not None and len(at) == 2:
        out["dW"] = f"dW[{at[0]}, {at[1]}] = {num(dW[at])}"
    return out, loss


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The loss's lines at the minimal example, or None when it holds no W, X, y, reg."""
    if check.name not in ("loss", "gradient", "stability"):
        return None
    kind = "svm" if item.name.startswith("svm") else "softmax"
    ex = dict(check.example or {})
    W, X, y, reg = arr(ex.get("W")), arr(ex.get("X")), arr(ex.get("y")), ex.get("reg")
    if W is None or X is None or y is None or W.ndim != 2 or X.ndim != 2 \
            or not isinstance(reg, int | float) or X.shape[1] != W.shape[0]:
        return None
    exp, got = dict(check.expected or {}), dict(check.got or {})
    f = REG_FACTORS[0]
    judged = arr(exp.get("loss"))
    at = next((m.index for m in check.mismatches if m.value == "dW"), None)
    try:
        for factor in REG_FACTORS:  # the convention the check judged by (2016: 0.5·reg·ΣW²)
            loss = _values(kind, W, X, y.astype(int), float(reg), factor, None)[1]
            if judged is not None and judged.size == 1 and np.isclose(loss, float(judged)):
                f = factor
                break
        vals = _values(kind, W, X, y.astype(int), float(reg), f, at)[0]
    except (IndexError, ValueError):
        return None
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    half = "0.5·" if f == 0.5 else ""
    lines = []
    for code, key, rings in _LINES[kind]:
        if half:
            code = code.replace("reg·ΣW²", "0.5·reg·ΣW²").replace("2·reg·W", "reg·W")
        if key == "dW" and check.name == "loss":
            continue
        lines.append(Line(code, vals.get(key, ""), ring=mistake in rings,
                          note=rings.get(mistake, "")))
    yours = arr(got.get("loss"))
    if check.name == "loss" and yours is not None and yours.size == 1:
        lines.append(Line("yours: loss", num(float(yours)), yours=True))
    for m in check.mismatches[:1]:
        if m.value == "dW":
            lines.append(Line(f"yours: dW[{', '.join(map(str, m.index))}]", num(m.got),
                              yours=True))
    n = X.shape[0]
    return Figure(
        title=f"{item.name}, {check.name}: the loss term by term",
        parts=(Formula(f"{item.name} at the minimal example (N = {n}, reg = {reg:g})",
                       tuple(lines)),),
        intro=(f"The {'SVM' if kind == 'svm' else 'softmax'} loss as the course writes it, "
               f"with the regularization {half}reg·ΣW², each line's value at the minimal "
               "example."),
    )
