"""The lecture's gates as the grader computes them, shared by every family that grades gates
or circuits of them (the gates, the circuits, layer classes of the same maths): the oracle at
the submission's precision, the subgradients of max at a tie, and the sigmoid's stability range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bpverify.grading import oracles
from bpverify.grading.checks.base import rounded

__all__ = ["STABLE_FROM", "gate_oracle", "project_max_ties"]

#: The smallest |x| a sigmoid's stability check draws: sigma'(10) ~ 4.5e-5 still shows a wrong
#: local gradient (a cached 0/1 mask, say), which from |x| ~ 30 on is below every tolerance;
#: the largest, 1000, is where only a stable formula stays finite.
STABLE_FROM = 10.0


def gate_oracle(name: str, inputs: Sequence[Any], const: Any, dout: Any,
                 dtype: np.dtype[Any]) -> tuple[Any, list[Any]]:
    return oracles.gate(
        name, [rounded(v, dtype) for v in inputs],
        None if const is None else rounded(const, dtype), rounded(dout, dtype),
    )


def project_max_ties(inputs: Sequence[Any], dout: Any, got: Sequence[Any],
                      dtype: np.dtype[Any] | None = None) -> list[Any]:
    """At a tie any split dx = a dz, dy = (1 - a) dz with 0 <= a <= 1 is a valid subgradient.

    Ties are looked for in the inputs as the submission saw them (rounded to its dtype).
    """
    dtype = np.dtype(np.float64) if dtype is None else dtype
    x, y = (np.asarray(rounded(v, dtype), dtype=np.float64) for v in inputs)
    dz = np.broadcast_to(np.asarray(dout, dtype=np.float64), x.shape)
    dx_got = np.asarray(got[0], dtype=np.float64)
    with np.errstate(all="ignore"):
        a = np.clip(np.nan_to_num(dx_got / dz), 0.0, 1.0)
    wins = x > y
    tie = x == y
    dx = np.where(tie, a * dz, np.where(wins, dz, 0.0))
    dy = np.where(tie, (1.0 - a) * dz, np.where(wins, 0.0, dz))
    return [dx, dy]
