"""The update rules as the starters' docstrings and notebook state them (numpy, float64).

Shared by the checks (the oracle) and the diagnoses (the mistakes' values).  ``step`` returns
next_w and the new state; ``variants`` the values of the classic mistakes at the same step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["adam_paper", "step", "variants"]


def step(name: str, w: Any, dw: Any, config: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """One step of the rule ``name`` from ``config`` (hyperparameters and state, all given)."""
    w, dw = np.asarray(w, dtype=np.float64), np.asarray(dw, dtype=np.float64)
    lr = float(config["learning_rate"])
    if name == "sgd":
        return w - lr * dw, {}
    if name == "sgd_momentum":
        v = float(config["momentum"]) * np.asarray(config["velocity"]) - lr * dw
        return w + v, {"velocity": v}
    if name == "rmsprop":
        decay = float(config["decay_rate"])
        cache = decay * np.asarray(config["cache"]) + (1 - decay) * dw * dw
        return w - lr * dw / (np.sqrt(cache) + float(config["epsilon"])), {"cache": cache}
    b1, b2, eps = float(config["beta1"]), float(config["beta2"]), float(config["epsilon"])
    t = int(config["t"]) + 1
    m = b1 * np.asarray(config["m"]) + (1 - b1) * dw
    v = b2 * np.asarray(config["v"]) + (1 - b2) * dw * dw
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "t": t}


def adam_paper(w: Any, dw: Any, config: Mapping[str, Any]) -> Any:
    """Adam's next_w in the paper's efficient form (Kingma & Ba, section 2): the bias
    corrections folded into the step size, eps added to sqrt(v) uncorrected.  It differs from
    the starters' form only where sqrt(v̂) is near eps, and is accepted as well."""
    w, dw = np.asarray(w, dtype=np.float64), np.asarray(dw, dtype=np.float64)
    b1, b2, eps = float(config["beta1"]), float(config["beta2"]), float(config["epsilon"])
    t = int(config["t"]) + 1
    m = b1 * np.asarray(config["m"]) + (1 - b1) * dw
    v = b2 * np.asarray(config["v"]) + (1 - b2) * dw * dw
    alpha = float(config["learning_rate"]) * np.sqrt(1 - b2**t) / (1 - b1**t)
    return w - alpha * m / (np.sqrt(v) + eps)


def variants(name: str, w: Any, dw: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """next_w (and state) of each classic mistake at this step, by mistake id."""
    w, dw = np.asarray(w, dtype=np.float64), np.asarray(dw, dtype=np.float64)
    lr = float(config["learning_rate"])
    out: dict[str, Any] = {}
    if name == "sgd":
        out["momentum-sign"] = w + lr * dw
    if name == "sgd_momentum":
        mu, v0 = float(config["momentum"]), np.asarray(config["velocity"])
        out["momentum-sign"] = w + (mu * v0 + lr * dw)
    if name == "rmsprop":
        decay, eps = float(config["decay_rate"]), float(config["epsilon"])
        cache = decay * np.asarray(config["cache"]) + (1 - decay) * dw * dw
        out["eps-inside-sqrt"] = w - lr * dw / np.sqrt(cache + eps)
    if name == "adam":
        b1, b2, eps = float(config["beta1"]), float(config["beta2"]), float(config["epsilon"])
        t = int(config["t"])
        m = b1 * np.asarray(config["m"]) + (1 - b1) * dw
        v = b2 * np.asarray(config["v"]) + (1 - b2) * dw * dw
        out["adam-no-bias-correction"] = w - lr * m / (np.sqrt(v) + eps)
        if t > 0:
            out["adam-t-late"] = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        out["eps-inside-sqrt"] = w - lr * (m / (1 - b1 ** (t + 1))) / np.sqrt(
            v / (1 - b2 ** (t + 1)) + eps)
    return out
