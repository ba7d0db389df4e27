"""Advice, not grading: tanh, sigmoid and exp at extreme inputs.

The lecture's tanh, ``(math.exp(2*x) - 1) / (math.exp(2*x) + 1)``, is right where the graph
items use it and raises OverflowError from |x| ~ 355; ``1 / (1 + math.exp(-x))`` likewise from
x ~ -710.  The true values there are plain numbers (±1, 0, 1), so an engine that trains a real
net would want them; the check is advisory (weight 0 in every built-in rubric, as softmax's
margins are): reported, never counted against the grade.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import strategies as st

from bpverify.families.engines.checks.judging import (
    compare,
    engine_dtype,
    num,
    precision,
    reject_detached,
)
from bpverify.families.engines.checks.programs import Program, program_on
from bpverify.families.engines.contract import EngineOp
from bpverify.grading.checks.base import Case, Check, CheckFailed
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError

__all__ = ["EXTREME_OPS", "extreme_check"]

#: Inputs far out, where the textbook formulas overflow yet the true values are finite.
_INPUTS = {
    "tanh": (25.0, -25.0, 100.0, -100.0, 400.0, -400.0, 800.0, -800.0),
    "sigmoid": (40.0, -40.0, 100.0, -100.0, 400.0, -400.0, 800.0, -800.0),
    "exp": (-800.0, -400.0, 50.0, 80.0),  # e^80 ~ 5.5e34: finite in float32 too
}
EXTREME_OPS = tuple(_INPUTS)
_ADVICE = {
    "tanh": "math.tanh(x) (or (1 - e^-2x) / (1 + e^-2x) for x >= 0) stays finite there, while "
            "(e^2x - 1) / (e^2x + 1) overflows from |x| ~ 355",
    "sigmoid": "1 / (1 + e^-x) overflows from x ~ -710: for x < 0 use e^x / (1 + e^x)",
    "exp": "math.exp(x) is finite there; its gradient is the value itself",
}


def _truth(op: str, x: float) -> tuple[float, float]:
    """The value and the local gradient at ``x``, computed where they cannot overflow."""
    if op == "tanh":
        t = math.tanh(x)
        return t, (1.0 - t) * (1.0 + t)
    if op == "sigmoid":
        s = 0.5 * (1.0 + math.tanh(0.5 * x))
        return s, s * (1.0 - s)
    e = math.exp(x)
    return e, e


def _program(op: EngineOp, x: float) -> Program:
    p = program_on([x])
    p.nodes.append({"op": op.op, "args": [["v", 0]], "code": op.code.format(a="a"),
                    "item": op.name, "form": "v"})
    p.names.append("b")
    p.values.append(_truth(op.op, x)[0])
    return p


def _judge(ex: Executor, op: EngineOp, case: Case) -> bool:
    x, up = float(case["x"]), 0.5
    p = _program(op, x)
    p.run = [f"b.grad = {up!r}", "b._backward()"]
    case.clear()
    case["code"] = p.code()
    value, local = _truth(op.op, x)
    try:
        reply = ex.call("engine_program", program=p.plain(), upstreams=[up], preset=0.0,
                        force_upstream=True)
    except StudentError as exc:
        raise CheckFailed(
            "raised", f"a.{op.op}() at a = {num(x)} raised {exc.exc_type}: {exc.message} "
            f"(advice, not graded: the true value is {num(value)}; {_ADVICE[op.op]}).\n"
            f"{p.code()}", facts=Facts(where=f"a.{op.op}()", exc_type=exc.exc_type)) from None
    reject_detached(reply, p)
    where = f"a.{op.op}() at a = {num(x)} (advice, not graded: {_ADVICE[op.op]})"
    got = (reply.get("values") or [None])[-1]
    compare(where, ["b"], [got], [value], "the true value", p)
    replay = reply.get("replay")
    grads = list(replay[0]["after"]) if replay else []
    if grads:
        compare(where, ["a.grad"], grads[:1], [local * up], f"local gradient × upstream {up}",
                p)
    return True


def extreme_check(op: EngineOp) -> Check:
    """The advisory check of tanh, sigmoid or exp at extreme inputs."""

    def run(ex: Executor, case: Case) -> bool:
        with precision(engine_dtype(ex)):
            return _judge(ex, op, case)

    judge: Callable[[Executor, Case], bool] = run
    return Check("extremes", st.fixed_dictionaries({"x": st.sampled_from(_INPUTS[op.op])}),
                 judge, f"advisory: {op.code.format(a='a')} is finite and right at extreme "
                 "inputs (|a| in the hundreds)")
