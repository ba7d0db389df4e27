"""CS231n's inverted dropout: names, signatures and what ``p`` means.

``dropout_forward(x, dropout_param) -> (out, cache)`` with ``dropout_param`` holding ``p``,
``mode`` ('train' or 'test') and optionally ``seed``; ``dropout_backward(dout, cache) -> dx``.
``p`` is the probability of *dropping* a unit in the 2016-2017 starters ("We drop each neuron
output with probability p") and of *keeping* it from 2018 on ("We keep each neuron output with
probability p").  The meaning is read from the docstring of the submission's own
``dropout_forward``; without one, from the rubric's option ``dropout_p`` ("keep" or "drop");
without that, "keep" (the 2018-2024 starters).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from bpverify.contract import Item

__all__ = ["CATEGORY", "CS231N_MODULES", "ITEMS", "NAMES", "OPTION", "P_MEANINGS", "p_meaning"]

CATEGORY = "cs231n-dropout"

ITEMS: tuple[Item, ...] = (
    Item("dropout_forward", CATEGORY, ("dropout_forward",)),
    Item("dropout_backward", CATEGORY, ("dropout_forward", "dropout_backward")),
)

#: The names looked up as they are spelled (the family's finder only adds a note).
NAMES: tuple[str, ...] = ("dropout_forward", "dropout_backward")

CS231N_MODULES: dict[str, tuple[str, ...]] = {
    "cs231n.layers": ("dropout_forward", "dropout_backward"),
}

#: The rubric option naming p's meaning when the docstring does not say.
OPTION = "dropout_p"
#: What p may mean, and how each is put in words.
P_MEANINGS = {"keep": "the probability of keeping a unit",
              "drop": "the probability of dropping a unit"}

_SAYS = (
    (re.compile(r"\bkeep\w*\s+each\s+neuron\s+output\s+with\s+probability\s+p\b", re.I), "keep"),
    (re.compile(r"\bdrop\w*\s+each\s+neuron\s+output\s+with\s+probability\s+p\b", re.I), "drop"),
    (re.compile(r"\bp\s+is\s+the\s+probability\s+of\s+keep", re.I), "keep"),
    (re.compile(r"\bp\s+is\s+the\s+probability\s+of\s+drop", re.I), "drop"),
)


def p_meaning(fn: Any, options: dict[str, Any]) -> tuple[str, str]:
    """(what p means, where that was read): from ``fn``'s docstring, else the rubric's
    ``dropout_p`` option, else "keep"."""
    doc = inspect.getdoc(fn) or ""
    for pattern, meaning in _SAYS:
        if pattern.search(doc):
            return meaning, "the docstring of dropout_forward"
    chosen = str(options.get(OPTION, "")).strip().lower()
    if chosen in P_MEANINGS:
        return chosen, f"the rubric's option {OPTION}"
    return "keep", "the default (the 2018-2024 starters' meaning)"
