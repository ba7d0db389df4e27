"""The softmax and SVM losses: value, gradient, kinks of the hinge, stability."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify import strategies
from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import check_numeric
from bpverify.grading import oracles
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
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
from bpverify.submission.replies import LossReply


def _svm_project(scores: Any, y: Any, got: Any, base: Any) -> Any:
    """At a hinge margin of exactly 0 the indicator may be anything in [0, 1]."""
    n = scores.shape[0]
    rows = np.arange(n)
    margins = scores - scores[rows, y][:, None] + 1.0
    tie = margins == 0
    tie[rows, y] = False
    if not tie.any():
        return base
    g = np.asarray(got, dtype=np.float64)
    a = np.where(tie, np.clip((g - base) * n, 0.0, 1.0), 0.0)
    expected = base + a / n
    expected[rows, y] -= a.sum(axis=1) / n
    return expected


def loss_checks(name: str) -> list[Check]:

    def call(ex: Executor, case: Case) -> tuple[Any, Any, LossReply]:
        res = ex.call("loss", name=name, scores=case["scores"], y=case["y"])
        return res["loss"], res["dscores"], res

    def expected(case: Case, dtype: np.dtype[Any]) -> tuple[Any, Any]:
        return oracles.loss(name, rounded(case["scores"], dtype), case["y"])

    def judge_loss(case: Case, value: Any) -> None:
        where = f"{name}(scores, y)"
        check_numeric(value, f"{where} (loss)", named=True)
        expect_shape(np.squeeze(value) if np.size(value) == 1 else value, (), "loss", where,
                      "the loss is a scalar averaged over the batch")
        expect_finite(value, "loss", where)
        dtype = working_dtype(value)
        judge(where, ["loss"], [np.squeeze(value)], [expected(case, dtype)[0]],
               tolerance_for(dtype), "the oracle's loss")

    def judge_grad(case: Case, value: Any, ds: Any) -> None:
        where = f"{name}(scores, y)"
        expect_shape(ds, case["scores"].shape, "dscores", where, "the shape of scores")
        expect_finite(ds, "dscores", where)
        dtype = working_dtype(ds)
        exp = expected(case, dtype)[1]
        if name == "svm_loss":
            exp = _svm_project(rounded(case["scores"], dtype), case["y"], ds, exp)
        judge(where, ["dscores"], [ds], [exp], tolerance_for(dtype),
               "the gradient of the loss")

    def loss_check(ex: Executor, case: Case) -> None:
        judge_loss(case, call(ex, case)[0])

    def gradient(ex: Executor, case: Case) -> None:
        value, ds, _ = call(ex, case)
        judge_grad(case, value, ds)

    def numerical(ex: Executor, case: Case) -> bool:
        value, ds, _ = call(ex, case)

        def claimed() -> list[Any]:
            judge_loss(case, value)
            expect_shape(ds, case["scores"].shape, "dscores", name, "")
            moved = nearby(case, ["scores"])
            judge_loss(moved, call(ex, moved)[0])
            return [ds]

        f = ScenarioForward(ex, "loss",
                            lambda scores: {"name": name, "scores": scores, "y": case["y"]},
                            lambda reply: reply["loss"])

        return judge_numerically(name, ["dscores"], case, claimed=claimed, f=f,
                                 args=[case["scores"]])

    def hygiene(ex: Executor, case: Case) -> None:
        _, _, res = call(ex, case)
        judge_unmodified(name, ["scores", "y"], [case["scores"], case["y"]], res["inputs_after"],
                         "input")

    cases = strategies.loss_cases(name)
    checks = [
        Check("loss", cases, loss_check, "the loss matches the JAX oracle"),
        Check("gradient", cases, gradient, "dscores matches jax.grad"),
        Check("numerical", cases, numerical, "dscores matches centred differences"),
        Check("hygiene", cases, hygiene, "scores and y are left unmodified"),
    ]
    if name == "softmax_loss":
        def stability(ex: Executor, case: Case) -> None:
            value, ds, _ = call(ex, case)
            judge_loss(case, value)
            judge_grad(case, value, ds)

        def margins(ex: Executor, case: Case) -> None:
            try:
                stability(ex, case)
            except CheckFailed as exc:
                raise exc.amended(message=(
                    f"{exc.message}. With a margin this large the correct class's "
                    "probability underflows: compute log-probabilities as shifted - "
                    "log(sum(exp(shifted))) (log-sum-exp) instead of log(probs)")) from None

        checks.append(Check("stability", offset_cases(), stability,
                            "finite and right for scores around +-1000 (shift by the max)"))
        checks.append(Check("margins", strategies.loss_cases(name, large=True), margins,
                            "advisory: right for margins of hundreds (log-sum-exp)"))
    return checks


@st.composite
def offset_cases(draw: st.DrawFn) -> Case:
    """Scores of a large common offset per row (+-700 to +-1000) with a moderate spread.

    This is what the course teaches: exp of unshifted scores overflows from about 710 (and
    underflows to 0/0 below -745), while shifting by the row's max keeps every probability
    well above underflow, since the spread stays within +-15.
    """
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    offsets = np.array([draw(st.floats(700.0, 1000.0)) * draw(st.sampled_from([-1.0, 1.0]))
                        for _ in range(n)])
    spread = draw(strategies.values((n, c), lo=-15.0, hi=15.0))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return {"scores": offsets[:, None] + spread, "y": y}


