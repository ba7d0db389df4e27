"""Diagnoses of the update rules, from the failed step's inputs and the values returned.

A failed step keeps its inputs in ``expected`` (``given w``, ``given dw``,
``given config[...]``); each rule computes a classic mistake's value at that step
(:func:`.rules.variants`) and names it only when next_w (or the state) is exactly that value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.update_rules.rules import variants
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr, match
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["IDEAS", "MISTAKES", "diagnose"]

IDEAS: dict[str, str] = {
    "descent": "an update rule steps against the gradient, downhill: the velocity integrates "
               "-learning_rate·dw (v = μ·v - lr·dw, then w + v)",
    "bias-correction": "Adam's moving averages start at 0, so early on they are biased toward "
                       "0: divide m by 1 - β₁ᵗ and v by 1 - β₂ᵗ, with t the number of this "
                       "step (incremented first, so the first step has t = 1)",
    "eps": "eps only keeps the division safe: the step is lr·dw / (sqrt(cache) + eps), with "
           "eps added after the square root, where gradients are small it decides the step",
    "optim-state": "the state an update rule keeps (velocity, cache, m, v, t) lives in config, "
                   "which the solver passes back on the next call: store the new state there",
}
MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("momentum-sign", "descent", "stepped uphill (the sign of the update)"),
    KnownMistake("adam-no-bias-correction", "bias-correction",
                 "left out Adam's bias correction"),
    KnownMistake("adam-t-late", "bias-correction", "used t before incrementing it in Adam"),
    KnownMistake("eps-inside-sqrt", "eps", "put eps inside the square root"),
    KnownMistake("optim-state-not-stored", "optim-state",
                 "did not store the new {what} in config", "state"),
)

_SAW = {
    "momentum-sign": "next_w moved by +lr·dw, uphill: the velocity must add -lr·dw "
                     "(v = μ·v - lr·dw; next_w = w + v)",
    "adam-no-bias-correction": "next_w is lr·m / (sqrt(v) + eps), without dividing m by "
                               "1 - β₁ᵗ and v by 1 - β₂ᵗ",
    "adam-t-late": "next_w used t before it was incremented (the starter's note: modify t "
                   "before using it in any calculation)",
    "eps-inside-sqrt": "next_w divides by sqrt(cache + eps) where the docstring's rule has "
                       "sqrt(cache) + eps: with gradients this small the two steps differ "
                       "by orders of magnitude",
}


def _inputs(exp: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]] | None:
    w, dw = arr(exp.get("given w")), arr(exp.get("given dw"))
    if w is None or dw is None:
        return None
    prefix = "given config['"
    config = {k[len(prefix):-2]: v for k, v in exp.items() if k.startswith(prefix)}
    return w, dw, config


def _next_w(name: str, check: CheckResult, got: Any, inputs: tuple[Any, Any, dict[str, Any]]
            ) -> Diagnosis | None:
    w, dw, config = inputs
    g = arr(got)
    if name == "adam" and config.get("t") == 0 and (
            check.kind == "not-finite" or (g is not None and not np.all(np.isfinite(g)))):
        return found("adam-t-late", "next_w is nan or inf: with t = 0 the bias corrections "
                     "1 - β₁ᵗ and 1 - β₂ᵗ are 0; increment t before using it", subject="t")
    if g is None or g.shape != w.shape:
        return None
    try:
        values = variants(name, w, dw, config)
    except (KeyError, TypeError, ValueError):
        return None
    for mistake, value in values.items():
        if match(g, value):
            return found(mistake, _SAW[mistake], subject="next_w")
    return None


def _state(key: str, got: Any, exp: dict[str, Any]) -> Diagnosis | None:
    before, g = arr(exp.get(f"given config['{key}']")), arr(got)
    value = arr(exp.get(f"config['{key}']"))
    if g is None or before is None:
        return None
    if key == "velocity" and value is not None and match(g, -value) and np.any(value != 0):
        return found("momentum-sign", "config['velocity'] has the opposite sign of the "
                     "starter's velocity v = μ·v - lr·dw (then next_w = w + v)",
                     subject="velocity")
    if g.shape == before.shape and match(g, before):
        what = "t" if key == "t" else key
        return found("optim-state-not-stored", f"config['{key}'] came back as it was given: "
                     + ("t was not incremented (Adam's bias corrections 1 - β₁ᵗ and "
                        "1 - β₂ᵗ need it: code that never reads t has none)" if key == "t" else
                        f"the new {key} was computed but not stored in config"), subject=what)
    return None


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The mistake behind a failed check of an update rule, or None."""
    exp, got = dict(check.expected or {}), dict(check.got or {})
    inputs = _inputs(exp)
    if inputs is None:
        return None
    value = check.facts.value
    if check.kind in ("not-finite", "wrong-values") and value == "next_w":
        return _next_w(item.name, check, got.get("next_w"), inputs)
    if check.kind == "wrong-values" and value.startswith("config['"):
        key = value[len("config['"):-2]
        return _state(key, got.get(value), exp)
    return None
