"""rmsprop divides by sqrt(cache + eps) instead of sqrt(cache) + eps."""

import numpy as np

from reference import *  # noqa: F403


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    decay = config["decay_rate"]
    config["cache"] = decay * config["cache"] + (1 - decay) * dw**2
    next_w = w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"])
    return next_w, config


EXPECT = {"rmsprop": "small gradients"}
DIAGNOSIS = "eps-inside-sqrt"
