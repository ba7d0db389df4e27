"""sgd_momentum adds +learning_rate·dw to the velocity: w moves uphill."""

import numpy as np

from reference import *  # noqa: F403


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


EXPECT = {"sgd_momentum": "update"}
DIAGNOSIS = "momentum-sign"
