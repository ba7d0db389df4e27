"""CS231n's update rules: names, the defaults their docstrings set, the state they carry.

``rule(w, dw, config=None) -> (next_w, config)``: config holds the hyperparameters (set to
the defaults below when missing) and the state carried from one step to the next, which the
solver feeds back on the next call.  Adam increments ``t`` before using it (the 2017+
starters say so; the notebook's expected values, the same in every generation, need it);
its default ``t`` is 0 from 2017 on and 1 in 2016, and either is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpverify.contract import Item

__all__ = ["CATEGORY", "CS231N_MODULES", "ITEMS", "RULES", "RuleSpec"]

CATEGORY = "cs231n-optim"


@dataclass(frozen=True)
class RuleSpec:
    name: str
    defaults: tuple[tuple[str, float], ...]  #: hyperparameters and their docstring defaults
    state: tuple[str, ...]  #: what config carries from step to step
    #: eps decides the step where gradients are small (RMSProp, Adam)
    eps: bool = False


RULES: dict[str, RuleSpec] = {
    s.name: s
    for s in (
        RuleSpec("sgd", (("learning_rate", 1e-2),), ()),
        RuleSpec("sgd_momentum", (("learning_rate", 1e-2), ("momentum", 0.9)), ("velocity",)),
        RuleSpec("rmsprop", (("learning_rate", 1e-2), ("decay_rate", 0.99), ("epsilon", 1e-8)),
                 ("cache",), eps=True),
        RuleSpec("adam", (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999),
                          ("epsilon", 1e-8)), ("m", "v", "t"), eps=True),
    )
}

ITEMS: tuple[Item, ...] = tuple(Item(name, CATEGORY, (name,)) for name in RULES)

CS231N_MODULES: dict[str, tuple[str, ...]] = {"cs231n.optim": tuple(RULES)}
