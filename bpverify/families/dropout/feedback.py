"""Diagnoses of CS231n's inverted dropout, read from the minimal example's values.

Dropout not rescaled (kept units equal to x, where inverted dropout divides them by the keep
probability), p read the other way round (kept units divided by 1 - the keep probability, or
the other fraction kept), a mask or a scaling at test time, and a backward that ignores the
mask (dx = dout) or its scaling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.closeness import close
from bpverify.families.dropout.contract import CATEGORY
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["CATEGORIES", "IDEAS", "MISTAKES", "diagnose"]

CATEGORIES = (CATEGORY,)

IDEAS: dict[str, str] = {
    "inverted-dropout": "inverted dropout divides the kept units by the keep probability at "
                        "train time, so that the expected output is x and test time needs "
                        "no change at all",
    "dropout-p": "the starter's docstring says what p is: the probability of keeping a unit "
                 "from 2018 on, of dropping it in 2016-2017; keep = p or 1 - p follows",
    "dropout-test": "at test time every unit is kept and nothing is scaled: out = x (the "
                    "scaling was done at train time)",
    "dropout-mask": "dropout is a multiply gate with the mask: the gradient is dout times the "
                    "same scaled mask the forward used, cached for backward",
}
MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("dropout-not-rescaled", "inverted-dropout",
                 "did not divide the kept units by the keep probability"),
    KnownMistake("dropout-p-meaning", "dropout-p", "read dropout's p the other way round"),
    KnownMistake("dropout-mask-at-test", "dropout-test",
                 "dropped or scaled units at test time"),
    KnownMistake("dropout-backward-no-mask", "dropout-mask",
                 "did not multiply dropout's dx by the mask (or its scaling)"),
)


def _same(got: Any, candidate: Any) -> bool:
    g = arr(got)
    return g is not None and g.shape == np.shape(candidate) and bool(
        np.all(np.isfinite(g))) and close(g, candidate, "pattern")



def _train(ex: dict[str, Any], exp: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    x, out, e = arr(ex.get("x")), arr(got.get("out")), arr(exp.get("out"))
    if x is None or out is None or e is None or out.shape != x.shape:
        return None
    kept = out != 0
    if not kept.any():
        return None
    if _same(out, np.where(kept, x, 0.0)):
        return found("dropout-not-rescaled", "the kept units of out equal x: they were not "
                     "divided by the keep probability")
    p = ex.get("p")
    if isinstance(p, (int, float)):
        scale = float(np.mean(e[kept] / x[kept]))  # 1 / q, the keep probability judged
        other = 1.0 / (1.0 - 1.0 / scale) if scale > 1.0 else None
        if other is not None and _same(out, np.where(kept, x * other, 0.0)):
            return found("dropout-p-meaning", f"the kept units are x / {1 / other:.2g} where "
                         f"x / {1 / scale:.2g} belongs: p = {p:g} was read the other way round")
    return None


def _fraction(ex: dict[str, Any], exp: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    q, kept, n = exp.get("kept fraction"), got.get("kept fraction"), np.size(ex.get("x", []))
    if not isinstance(q, float) or not isinstance(kept, float) or not n:
        return None
    if abs(kept - (1.0 - q)) <= 5.0 * np.sqrt(q * (1 - q) / n) + 1.0 / n:
        return found("dropout-p-meaning", f"{kept:.0%} of the units were kept where {q:.0%} "
                     "belongs: p was read as the other probability")
    return None


def _test(ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    x, out = arr(ex.get("x")), arr(got.get("out"))
    if x is None or out is None or out.shape != x.shape:
        return None
    if np.any((out == 0) & (x != 0)):
        return found("dropout-mask-at-test", "in test mode some units of out are 0: a mask "
                     "was applied at test time")
    ratio = out / x
    if np.allclose(ratio, ratio.flat[0]) and not np.isclose(ratio.flat[0], 1.0):
        return found("dropout-mask-at-test", f"in test mode out is x times {ratio.flat[0]:.3g}: "
                     "inverted dropout scales nothing at test time")
    return None


def _backward(ex: dict[str, Any], exp: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    dout, dx, e = arr(ex.get("dout")), arr(got.get("dx")), arr(exp.get("dx"))
    if dout is None or dx is None or e is None or dx.shape != dout.shape:
        return None
    if _same(dx, dout) and not _same(e, dout):
        return found("dropout-backward-no-mask", "dx is dout unchanged: the mask the forward "
                     "used never reaches backward", subject="dx")
    kept = e != 0
    if kept.any() and _same(dx, np.where(kept, dout, 0.0)):
        return found("dropout-backward-no-mask", "dx is dout through the mask, but not divided "
                     "by the keep probability as the forward's output was", subject="dx")
    return None


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    ex, exp, got = dict(check.example or {}), dict(check.expected or {}), dict(check.got or {})
    if check.kind == "keep-fraction":
        return _fraction(ex, exp, got)
    if check.kind != "wrong-values":
        return None
    if item.name == "dropout_forward":
        if check.name == "train mode":
            return _train(ex, exp, got)
        if check.name == "test mode":
            return _test(ex, got)
    if item.name == "dropout_backward" and check.name == "backward":
        return _backward(ex, exp, got)
    return None
