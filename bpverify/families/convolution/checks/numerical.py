"""The numerical check on a budget: centred differences of the submission's own forward.

The naive convolution is four Python loops, so every evaluation of the forward costs a
millisecond or more, and a wrong gradient of a few hundred elements would be localised element
by element (thousands of evaluations).  So the fast gradient check runs with a budget of
:data:`BUDGET` evaluations: a correct gradient costs a handful (one random direction over
every element, each evaluation batched into few worker calls), a wrong one is reported with the
elements located within the budget, or, when the budget ends first, with the block of the
argument in which the disagreement was seen (the check fails either way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bpverify.closeness import scale_of, tolerance_for, working_dtype
from bpverify.gradcheck import check_gradient
from bpverify.gradcheck.numerics import DEFAULT_ELEMENTWISE_LIMIT
from bpverify.grading.checks.base import (
    Case,
    CheckFailed,
    ScenarioForward,
    case_seed,
    raise_numerical,
)
from bpverify.model import Facts

__all__ = ["BUDGET", "judge_on_budget"]

#: Evaluations of the forward one example's numerical check may take (worker calls are fewer:
#: the points are batched).  A correct gradient needs 2-12; locating one wrong element ~30.
BUDGET = 160


def judge_on_budget(where: str, names: Sequence[str], f: Callable[..., Any],
                    args: Sequence[Any], grads: Sequence[Any], case: Case, *,
                    elementwise_limit: int = DEFAULT_ELEMENTWISE_LIMIT) -> None:
    """Compare ``grads`` with centred differences of ``f`` at ``args``; raise CheckFailed.

    ``elementwise_limit``: with at most this many elements, each is judged on its own (about
    two evaluations each) instead of along random directions (see check_gradient).
    """
    dtype = working_dtype(*grads)
    precision = None if dtype == np.float64 else str(dtype)
    f_many = f.many if isinstance(f, ScenarioForward) else None
    result = check_gradient(f, list(args), list(grads), seed=case_seed(case),
                            precision=precision, f_many=f_many, max_evaluations=BUDGET,
                            elementwise_limit=elementwise_limit)
    tol = tolerance_for(dtype)
    scale = max((scale_of(g) for g in grads), default=0.0)
    real = [m for m in result.mismatches
            if not tol.allows(abs(m.got - m.expected), m.expected, scale)]
    if real:
        raise_numerical(where, names, replace(result, mismatches=tuple(real)))
    seen = [r for r in result.unresolved if r.reason == "mismatch"]
    if seen:
        r = seen[0]
        shape = np.shape(args[r.arg])
        first = tuple(int(i) for i in np.unravel_index(r.flat_start, shape)) if shape else ()
        last = (tuple(int(i) for i in np.unravel_index(r.flat_stop - 1, shape))
                if shape else ())
        raise CheckFailed(
            "numerical",
            f"{where}: {names[r.arg]} disagrees with centred differences of your own forward "
            f"somewhere in its elements {list(first)} to {list(last)} ({r.elements} elements; "
            f"the check's budget of {BUDGET} evaluations ended before it found which)",
            facts=Facts(where=where, value=names[r.arg]))
