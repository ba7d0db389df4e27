"""CS231n's update rules (cs231n/optim.py): ``(w, dw, config=None) -> (next_w, config)``.

config holds the hyperparameters (defaults as the starters set them) and the state carried
from one step to the next: velocity (momentum), cache (RMSProp), m, v and t (Adam, with t
incremented before it is used, as the starters' note asks).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sgd(w: Any, dw: Any, config: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w: Any, dw: Any,
                 config: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w: Any, dw: Any, config: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    decay = config["decay_rate"]
    cache = decay * config["cache"] + (1 - decay) * dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w: Any, dw: Any, config: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw * dw
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
