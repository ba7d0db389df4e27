"""The drawing of a failed update step: the docstring's rule, line by line, with its numbers.

At the element of the largest error, each line of the rule carries its value at the failed
step (computed from the step's inputs, which the check keeps in ``expected`` as ``given w``,
``given dw``, ``given config[...]``), and the line of the diagnosed mistake is ringed with what
the submission did there.  Without a diagnosis nothing is ringed: the submission's next_w
stands under the rule's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.feedback.patterns import arr
from bpverify.feedback.words import num
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Formula, Line

__all__ = ["figure"]

#: Each rule's lines: (code, the key of its value in :func:`_values`).
_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "sgd": (("next_w = w - lr·dw", "next_w"),),
    "sgd_momentum": (("v = μ·v - lr·dw", "velocity"), ("next_w = w + v", "next_w")),
    "rmsprop": (("cache = decay·cache + (1 - decay)·dw²", "cache"),
                ("next_w = w - lr·dw / (√cache + ε)", "next_w")),
    "adam": (("t = t + 1", "t"), ("m = β₁·m + (1 - β₁)·dw", "m"),
             ("v = β₂·v + (1 - β₂)·dw²", "v"), ("m̂ = m / (1 - β₁ᵗ)", "m_hat"),
             ("v̂ = v / (1 - β₂ᵗ)", "v_hat"), ("next_w = w - lr·m̂ / (√v̂ + ε)", "next_w")),
}

#: (rule, diagnosis) -> {the ringed line's value key: what the submission did there}.
_RINGS: dict[tuple[str, str], dict[str, str]] = {
    ("sgd", "momentum-sign"): {"next_w": "yours: w + lr·dw, uphill"},
    ("sgd_momentum", "momentum-sign"): {"velocity": "yours: μ·v + lr·dw, uphill"},
    ("rmsprop", "eps-inside-sqrt"): {"next_w": "yours: √(cache + ε)"},
    ("adam", "adam-no-bias-correction"): {"m_hat": "missing in yours",
                                          "v_hat": "missing in yours"},
    ("adam", "adam-t-late"): {"t": "yours used t before this line"},
    ("adam", "eps-inside-sqrt"): {"next_w": "yours: √(v̂ + ε)"},
}

_STATE = {"velocity": "velocity", "cache": "cache", "m": "m", "v": "v", "t": "t"}


def _values(name: str, w: float, dw: float, config: dict[str, Any]) -> dict[str, float]:
    lr = float(config["learning_rate"])
    if name == "sgd":
        return {"next_w": w - lr * dw}
    if name == "sgd_momentum":
        v = float(config["momentum"]) * float(config["velocity"]) - lr * dw
        return {"velocity": v, "next_w": w + v}
    if name == "rmsprop":
        decay = float(config["decay_rate"])
        cache = decay * float(config["cache"]) + (1 - decay) * dw * dw
        return {"cache": cache,
                "next_w": w - lr * dw / (np.sqrt(cache) + float(config["epsilon"]))}
    b1, b2 = float(config["beta1"]), float(config["beta2"])
    t = int(config["t"]) + 1
    m = b1 * float(config["m"]) + (1 - b1) * dw
    v = b2 * float(config["v"]) + (1 - b2) * dw * dw
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return {"t": t, "m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat,
            "next_w": w - lr * m_hat / (np.sqrt(v_hat) + float(config["epsilon"]))}


def _at(value: Any, index: tuple[int, ...]) -> float:
    a = np.asarray(value, dtype=np.float64)
    return float(a[index] if a.ndim == len(index) else a.reshape(-1)[0])


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The rule at the element of the largest error, or None when the step's inputs are not
    in the check."""
    name = item.name
    exp, got = dict(check.expected or {}), dict(check.got or {})
    value = check.facts.value
    if name not in _RULES or "given w" not in exp or value not in got:
        return None
    prefix = "given config['"
    given = {k[len(prefix):-2]: v for k, v in exp.items() if k.startswith(prefix)}
    index = next((m.index for m in check.mismatches if m.value == value), None)
    w = arr(exp["given w"])
    if w is None or index is None or len(index) != w.ndim:
        return None
    try:
        config = {k: (_at(v, index) if np.ndim(v) else v) for k, v in given.items()}
        vals = _values(name, _at(w, index), _at(exp["given dw"], index), config)
        yours = _at(got[value], index)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    rings = _RINGS.get((name, mistake), {})
    key = value[len("config['"):-2] if value.startswith("config['") else value
    if mistake == "optim-state-not-stored" and key in _STATE:
        rings = {key: "yours: config kept the old value"}
    at = f"[{', '.join(map(str, index))}]" if index else ""
    lines = [Line(code, num(vals[k]), ring=k in rings, note=rings.get(k, ""))
             for code, k in _RULES[name]]
    lines.append(Line(f"yours: {value}{at if value == 'next_w' else ''}", num(yours),
                      yours=True))
    step = exp.get("step")
    inputs = ", ".join([f"w = {num(_at(w, index))}", f"dw = {num(_at(exp['given dw'], index))}"]
                       + [f"{k} = {v:.6g}" if isinstance(v, float | int) else f"{k} = {v}"
                          for k, v in config.items()])
    return Figure(
        title=f"{name}, {check.name}: the update rule at element {at or '0'}"
              + (f", step {step}" if step else ""),
        parts=(Formula(f"{name}'s update at w{at}", tuple(lines)),),
        callout=(f"given {inputs}",),
        intro=f"The docstring's update rule for {name}, each line's value at element "
              f"{at or '0'} of the failed step.",
    )
