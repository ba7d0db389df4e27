"""The checks of ``temporal_softmax_loss(x, y, mask)``: its value, dx, and hygiene.

The course's loss is the cross-entropy of every step whose mask is true, summed over the
steps and averaged over the N sequences (not over N·T, nor over the steps that count); dx is
its gradient, zero where the mask is false.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import check_numeric
from bpverify.families.recurrent.checks import oracle
from bpverify.families.recurrent.checks.cases import loss_cases
from bpverify.families.recurrent.checks.layers import NUMERICAL_BUDGET
from bpverify.families.recurrent.scenarios import LossReply
from bpverify.grading.checks.base import (
    Case,
    Check,
    ScenarioForward,
    expect_finite,
    expect_shape,
    judge,
    judge_numerically,
    judge_unmodified,
    nearby,
    rounded,
)
from bpverify.submission import Executor

__all__ = ["loss_checks"]

WHERE = "temporal_softmax_loss(x, y, mask)"


def _call(ex: Executor, case: Case) -> LossReply:
    reply: LossReply = ex.call("recurrent_loss", x=case["x"], y=case["y"], mask=case["mask"])
    return reply


def _expected(case: Case, dtype: np.dtype[Any]) -> tuple[float, Any]:
    return oracle.temporal_softmax_loss(rounded(case["x"], dtype), case["y"], case["mask"])


def _judge_loss(case: Case, value: Any) -> None:
    check_numeric(value, f"{WHERE} (loss)")
    expect_shape(np.squeeze(value) if np.size(value) == 1 else value, (), "loss", WHERE,
                 "the loss is a scalar: summed over the steps, averaged over the N sequences")
    expect_finite(value, "loss", WHERE)
    dtype = working_dtype(value)
    judge(WHERE, ["loss"], [np.squeeze(value)], [_expected(case, dtype)[0]],
          tolerance_for(dtype), "the oracle's loss")


def _judge_dx(case: Case, dx: Any) -> None:
    expect_shape(dx, case["x"].shape, "dx", WHERE, "the shape of x")
    expect_finite(dx, "dx", WHERE)
    dtype = working_dtype(dx)
    judge(WHERE, ["dx"], [dx], [_expected(case, dtype)[1]], tolerance_for(dtype),
          "the gradient of the loss")


def _loss(ex: Executor, case: Case) -> None:
    _judge_loss(case, _call(ex, case)["loss"])


def _gradient(ex: Executor, case: Case) -> None:
    _judge_dx(case, _call(ex, case)["dx"])


def _numerical(ex: Executor, case: Case) -> bool:
    res = _call(ex, case)

    def claimed() -> list[Any]:
        _judge_loss(case, res["loss"])
        expect_shape(res["dx"], case["x"].shape, "dx", WHERE, "")
        moved = nearby(case, ["x"])
        _judge_loss(moved, _call(ex, moved)["loss"])
        return [res["dx"]]

    f = ScenarioForward(ex, "recurrent_loss",
                        lambda x: {"x": x, "y": case["y"], "mask": case["mask"]},
                        lambda reply: reply["loss"])
    return judge_numerically(WHERE, ["dx"], case, claimed=claimed, f=f, args=[case["x"]],
                             max_evaluations=NUMERICAL_BUDGET)


def _hygiene(ex: Executor, case: Case) -> None:
    res = _call(ex, case)
    judge_unmodified(WHERE, ["x", "y", "mask"], [case["x"], case["y"], case["mask"]],
                     res["inputs_after"], "input")


def loss_checks() -> list[Check]:
    cases = loss_cases()
    return [
        Check("loss", cases, _loss, "the loss matches the JAX oracle"),
        Check("gradient", cases, _gradient, "dx matches jax.grad"),
        Check("numerical", cases, _numerical, "dx matches centred differences"),
        Check("hygiene", cases, _hygiene, "x, y and mask are left unmodified"),
    ]
