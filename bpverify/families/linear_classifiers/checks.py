"""The checks of CS231n's linear classifier losses: ``(W, X, y, reg) -> (loss, dW)``.

- loss: the mean data loss plus ``f·reg·ΣW²``, for the factor the starter generation writes
  (1 from 2017 on, 0.5 in 2016): either is accepted.
- gradient: dW is the gradient of that same loss: ``2·f·reg·W`` with the ``f`` the loss used
  (either, when the loss is wrong); at a hinge margin of exactly 0, any valid subgradient.
- numerical: dW agrees with centred differences of the submission's own loss.
- stability (softmax): scores around ±1000 (the bias trick's column of ones times a large
  weight): exp of unshifted scores overflows.
- agree (vectorized): the vectorized version gives what the submission's own naive version
  gives, wherever the naive one is right (a missing or wrong naive version is not judged).
- hygiene: W, X and y are left unmodified.

A quarter of the loss and gradient cases come in float32, as a notebook that casts its data
does; they are judged with float32's tolerance whatever dtype comes back.  A failed gradient
check keeps the loss returned by the same call beside dW (``got["loss"]``), with the loss of
the convention it was judged by (``expected["loss"]``): the diagnoses read the factor there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify import strategies
from bpverify.closeness import close, tolerance_for, working_dtype
from bpverify.contract import Item, check_numeric
from bpverify.families.linear_classifiers.contract import NAIVE_OF, REG_FACTORS
from bpverify.families.linear_classifiers.oracle import (
    expected,
    hinge_ties,
    kind_of,
    valid_subgradient,
)
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
    to_plain,
)
from bpverify.submission import Executor

__all__ = ["checks_for", "linear_cases"]

_REGS = st.sampled_from([1.0, 0.5, 2.5, 0.0])
_HALF_STEPS = st.integers(-4, 4).map(lambda k: k / 2.0)
_SMALL_INTS = st.integers(-2, 2).map(float)


@st.composite
def linear_cases(draw: st.DrawFn, kind: str, *, float32: bool = True, large: bool = False,
                 ties: bool = True) -> Case:
    """W (D, C), X (N, D), labels y and reg; ``large``: scores around ±1000 through a bias
    column; ``ties`` (SVM): half the cases on a grid where hinge margins of 0 are common."""
    n, d, c = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(2, 5))
    y = draw(strategies.labels(n, c))
    if kind == "svm" and ties and draw(st.booleans()):
        X = draw(hnp.arrays(np.float64, (n, d), elements=_SMALL_INTS))
        W = draw(hnp.arrays(np.float64, (d, c), elements=_HALF_STEPS))
    else:
        X = draw(strategies.values((n, d), lo=-3.0, hi=3.0))
        W = draw(strategies.values((d, c), lo=-2.0, hi=2.0))
    reg = draw(_REGS)
    if large:
        offset = draw(st.floats(700.0, 1000.0)) * draw(st.sampled_from([1.0, -1.0]))
        spread = draw(strategies.values((c,), lo=-5.0, hi=5.0))
        X = np.hstack([np.ones((n, 1)), X])
        W = np.vstack([offset + spread, W])
        reg = 0.0
    elif float32 and draw(st.integers(0, 3)) == 0:
        X, W = X.astype(np.float32), W.astype(np.float32)
    return {"W": W, "X": X, "y": y, "reg": reg}


def _dtype(case: Case, *outs: Any) -> np.dtype[Any]:
    """float32 when the inputs are (whatever dtype the results have), else the results'."""
    if np.asarray(case["W"]).dtype == np.float32 or np.asarray(case["X"]).dtype == np.float32:
        return np.dtype(np.float32)
    return working_dtype(*outs)


def _within(case: Case, dtype: np.dtype[Any]) -> float:
    """How far from 0 a hinge margin counts as a tie: exactly 0 in float64; in float32 the
    submission's scores carry rounding errors of about 1e-7 of their size."""
    if dtype == np.float64:
        return 0.0
    X, W = np.abs(np.asarray(case["X"], dtype=np.float64)), np.abs(case["W"])
    return 1e-5 * (1.0 + float((X @ W).max(initial=0.0)))


class LinearChecks:
    """The checks of one loss (``svm_loss_naive``, ...), as named steps."""

    def __init__(self, name: str) -> None:
        self.name, self.kind = name, kind_of(name)
        self.where = f"{name}(W, X, y, reg)"

    def call(self, ex: Executor, case: Case, name: str | None = None) -> dict[str, Any]:
        reply: dict[str, Any] = ex.call("linear_loss", name=name or self.name, W=case["W"],
                                        X=case["X"], y=case["y"], reg=case["reg"])
        return reply

    def oracle(self, case: Case, factor: float) -> tuple[float, np.ndarray]:
        return expected(self.kind, case["W"], case["X"], case["y"], case["reg"], factor)

    # --- judging -------------------------------------------------------------------------

    def loss_factor(self, case: Case, value: Any, dtype: np.dtype[Any]) -> float | None:
        """The regularization factor whose loss ``value`` is, or None."""
        tol = tolerance_for(dtype)
        return next((f for f in REG_FACTORS if close(np.squeeze(value), self.oracle(case, f)[0],
                                                     tol)), None)

    def judge_loss(self, case: Case, value: Any, where: str = "") -> float:
        where = where or self.where
        check_numeric(value, f"{where} (loss)")
        expect_shape(np.squeeze(value) if np.size(value) == 1 else value, (), "loss", where,
                     "the loss is one number: the mean over the batch plus the regularization")
        expect_finite(value, "loss", where)
        dtype = _dtype(case, value)
        factor = self.loss_factor(case, value, dtype)
        if factor is None:
            judge(where, ["loss"], [np.squeeze(value)], [self.oracle(case, REG_FACTORS[0])[0]],
                  tolerance_for(dtype), "the oracle's loss (the mean data loss plus "
                  "reg·ΣW², or 0.5·reg·ΣW² as in 2016)")
        return factor or REG_FACTORS[0]

    def judge_grad(self, case: Case, value: Any, dW: Any, where: str = "") -> None:
        where = where or self.where
        expect_shape(dW, np.shape(case["W"]), "dW", where, "dW has the shape of W")
        expect_finite(dW, "dW", where)
        dtype = _dtype(case, dW)
        tol = tolerance_for(dtype)
        found = None
        if np.size(value) == 1 and np.all(np.isfinite(np.asarray(value, dtype=np.float64))):
            found = self.loss_factor(case, value, _dtype(case, value))
        first: tuple[float, Any, Any] | None = None
        for factor in ([found] if found is not None else REG_FACTORS):
            loss, grad = self.oracle(case, factor)
            if self.kind == "svm":
                grad = valid_subgradient(case["W"], case["X"], case["y"], dW, grad,
                                         _within(case, dtype))
            if close(dW, grad, tol):
                return
            first = first or (factor, loss, grad)
        assert first is not None
        factor, loss, grad = first
        try:
            judge(where, ["dW"], [dW], [grad], tol,
                  f"the gradient of the loss with {'0.5·' if factor == 0.5 else ''}reg·ΣW²")
        except CheckFailed as exc:
            raise exc.amended(expected={"dW": to_plain(grad), "loss": loss},
                              got={"dW": to_plain(dW), "loss": to_plain(np.squeeze(value))}
                              ) from None

    # --- checks --------------------------------------------------------------------------

    def loss(self, ex: Executor, case: Case) -> None:
        value = self.call(ex, case)["loss"]
        try:
            self.judge_loss(case, value)
        except CheckFailed as exc:
            if exc.kind != "wrong-values":
                raise
            # The same batch twice over: a mean does not change, a sum doubles.  The
            # diagnoses read it (a loss summed over the batch, or the SVM's correct class).
            twice = {**case, "X": np.concatenate([case["X"], case["X"]]),
                     "y": np.concatenate([case["y"], case["y"]])}
            again = self.call(ex, twice)["loss"]
            raise exc.amended(got={**(exc.got or {}), "loss, the batch twice": to_plain(
                np.squeeze(again))}) from None

    def gradient(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case)
        self.judge_grad(case, res["loss"], res["dW"])

    def stability(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case)
        try:
            self.judge_loss(case, res["loss"])
            self.judge_grad(case, res["loss"], res["dW"])
        except CheckFailed as exc:
            raise exc.amended(message=(
                f"{exc.message}. The scores here are around {float(case['W'][0, 0]):+.0f}: "
                "exp of unshifted scores overflows; subtract each row's max score first "
                "(the probabilities do not change)")) from None

    def numerical(self, ex: Executor, case: Case) -> bool:
        res = self.call(ex, case)

        def claimed() -> list[Any]:
            self.judge_loss(case, res["loss"])
            expect_shape(res["dW"], np.shape(case["W"]), "dW", self.where, "")
            moved = nearby(case, ["W"])
            self.judge_loss(moved, self.call(ex, moved)["loss"])
            return [res["dW"]]

        name, X, y, reg = self.name, case["X"], case["y"], case["reg"]
        f = ScenarioForward(ex, "linear_loss",
                            lambda W: {"name": name, "W": W, "X": X, "y": y, "reg": reg},
                            lambda reply: reply["loss"])
        return judge_numerically(self.where, ["dW"], case, claimed=claimed, f=f,
                                 args=[case["W"]])

    def agree(self, ex: Executor, case: Case) -> bool:
        naive = NAIVE_OF[self.name]
        if not ex.call("linear_defined", names=[naive]):
            return False
        theirs = self.call(ex, case, naive)
        try:  # judged only where the naive version is right
            self.judge_loss(case, theirs["loss"])
            self.judge_grad(case, theirs["loss"], theirs["dW"])
        except CheckFailed:
            return False
        mine = self.call(ex, case)
        where = f"{self.name} against your {naive}"
        check_numeric(mine["loss"], f"{self.where} (loss)")
        expect_shape(mine["dW"], np.shape(case["W"]), "dW", self.where, "dW has the shape of W")
        dtype = _dtype(case, mine["loss"], mine["dW"], theirs["loss"], theirs["dW"])
        names, got, exp = ["loss"], [np.squeeze(mine["loss"])], [np.squeeze(theirs["loss"])]
        ties = self.kind == "svm" and bool(
            hinge_ties(case["W"], case["X"], case["y"], _within(case, dtype)).any())
        if not ties:  # at a hinge tie the two may pick different valid subgradients
            names, got, exp = [*names, "dW"], [*got, mine["dW"]], [*exp, theirs["dW"]]
        judge(where, names, got, exp, tolerance_for(dtype), f"your {naive}'s")
        return True

    def hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case)
        judge_unmodified(self.name, ["W", "X", "y"], [case["W"], case["X"], case["y"]],
                         res["inputs_after"], "input")

    def checks(self) -> list[Check]:
        cases = linear_cases(self.kind)
        found = [
            Check("loss", cases, self.loss,
                  "the loss matches the JAX oracle (reg·ΣW², or 0.5·reg·ΣW² as in 2016)"),
            Check("gradient", cases, self.gradient,
                  "dW matches jax.grad of the same loss (any valid subgradient at a hinge tie)"),
            Check("numerical", linear_cases(self.kind, float32=False), self.numerical,
                  "dW matches centred differences of your own loss"),
        ]
        if self.kind == "softmax":
            found.append(Check("stability", linear_cases(self.kind, large=True), self.stability,
                               "finite and right for scores around ±1000 (shift by the max)"))
        if self.name in NAIVE_OF:
            found.append(Check(
                "agree", linear_cases(self.kind), self.agree,
                f"gives what your own {NAIVE_OF[self.name]} gives, where that one is right",
                unjudged=f"{NAIVE_OF[self.name]} is missing, or wrong on every example: "
                         "there is nothing right to compare with"))
        found.append(Check("hygiene", cases, self.hygiene, "W, X and y are left unmodified"))
        return found


def checks_for(item: Item) -> list[Check]:
    """The checks of one of the four losses."""
    return LinearChecks(item.name).checks()
