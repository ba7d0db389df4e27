"""Optional demo items: the TwoLayerNet trained on the lecture's spiral."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify.contract import Item
from bpverify.grading import oracles
from bpverify.grading.checks.base import (
    Check,
    CheckFailed,
)
from bpverify.submission import Executor

#: The spiral run of the optional "TwoLayerNet spiral" item, and its pass mark.
SPIRAL = {"steps": 3000, "learning_rate": 1.0, "hidden": 100, "reg": 1e-3, "pass_mark": 0.9}


def spiral_checks(name: str) -> list[Check]:
    def trains(ex: Executor, _: Any) -> None:
        from bpverify.grading.spiral import make_spiral

        X, y = make_spiral(seed=0)
        kwargs = {"input_dim": 2, "hidden_dim": SPIRAL["hidden"], "num_classes": 3,
                  "weight_scale": 0.01, "reg": SPIRAL["reg"]}
        res = ex.call("train_spiral", name=name, kwargs=kwargs, X=X, y=y,
                      steps=SPIRAL["steps"], learning_rate=SPIRAL["learning_rate"])
        params = res["params"]
        if not isinstance(params, dict) or not {"W1", "b1", "W2", "b2"} <= set(params):
            raise CheckFailed("bad-return", f"after training, {name}.params has keys "
                              f"{sorted(params) if isinstance(params, dict) else params}; "
                              "expected W1, b1, W2, b2")
        # The accuracy is judged here, with the oracle's scores of the trained parameters.
        scores, _, _ = oracles.net({k: np.asarray(params[k], dtype=np.float64)
                                    for k in ("W1", "b1", "W2", "b2")}, X, y, 0.0, 2)
        accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
        if not accuracy >= SPIRAL["pass_mark"]:
            raise CheckFailed(
                "accuracy",
                f"{name} trains to {accuracy:.0%} on the spiral ({SPIRAL['steps']} full-batch "
                f"gradient steps, learning rate {SPIRAL['learning_rate']}); expected at least "
                f"{SPIRAL['pass_mark']:.0%}. A linear classifier gets about 54%: the ReLU "
                "layer is what lets the net bend its decision boundary around the arms.",
                got={"accuracy": accuracy},
            )

    return [Check("trains", st.just(0), trains, "trains to at least 90% on the spiral")]




def checks_for(item: Item) -> list[Check]:
    """The checks of a spiral item: the net it needs, trained (the registry's entry point)."""
    return spiral_checks(item.needs[0])
