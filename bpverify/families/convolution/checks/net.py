"""ThreeLayerConvNet: scores, loss, gradients, the L2 term and centred differences.

The net is CS231n's: conv (stride 1, pad (filter_size - 1) // 2) - relu - 2x2 max pool (stride
2) - affine - relu - affine - softmax, with ``0.5 * reg * sum(W**2)`` over W1, W2, W3.  It is
built by the course's constructor, then its ``params`` are overwritten with the case's values
(in the net's own dtype: float32 by default), through the core's ``net`` and ``net_loss``
scenarios.

The oracle is the chain of the family's layer oracles and the core's (each a bucketed JAX
program: nothing is compiled per net shape), composed backward with the chain rule: every
layer's gradient is ``jax.vjp`` of that layer.  A judge first rounds the case's inputs to the
dtype of what the net returned, then, if that fails, to float32: CS231n's net keeps its params
in float32 (its default dtype) while float64 data promotes what it returns to float64.  A case
is set aside (``assume``) at a ReLU kink,
at equal maxima in a pooling window (where the net's gradient is not unique) and past the score
gap where the course's softmax underflows in float32.  A failed loss, gradients or L2 check is
replayed layer by layer (:mod:`.blame`) to name the guilty call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import ContractError, check_numeric
from bpverify.families.convolution import maths
from bpverify.families.convolution.checks.blame import blame_conv_net
from bpverify.families.convolution.checks.layers import window_ties
from bpverify.families.convolution.checks.numerical import judge_on_budget
from bpverify.grading import conv_oracles as oracle
from bpverify.grading import oracles
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    ScenarioForward,
    expect_finite,
    expect_shape,
    judge,
    nearby,
    rounded,
)
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError
from bpverify.submission.replies import NetReply

__all__ = ["NAME", "conv_net_cases", "conv_net_checks", "conv_net_oracle"]

NAME = "ThreeLayerConvNet"
WEIGHTS = ("W1", "W2", "W3")
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}
#: As the core's nets: the course's softmax (probabilities, then log) is exact below this gap.
MAX_SCORE_GAP = 60.0
_NO_DOUT = np.zeros((1, 1, 1, 1))  # a forward pass only: the gradients are not read


@st.composite
def _case(draw: st.DrawFn, reg: bool) -> Case:
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    side = draw(st.sampled_from([2, 4]))
    fs = draw(st.sampled_from([1, 3]))
    hidden, classes = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    shapes = {"W1": (f, c, fs, fs), "b1": (f,), "W2": (f * (side // 2) ** 2, hidden),
              "b2": (hidden,), "W3": (hidden, classes), "b3": (classes,)}
    params = {k: draw(strategies.values(s, lo=-2.0, hi=2.0)) for k, s in shapes.items()}
    return {"X": draw(strategies.values((n, c, side, side), lo=-3.0, hi=3.0)),
            "y": draw(strategies.labels(n, classes)), "params": params,
            "dims": {"input_dim": (c, side, side), "num_filters": f, "filter_size": fs,
                     "hidden_dim": hidden, "num_classes": classes},
            "reg": draw(st.floats(0.05, 2.0)) if reg else 0.0}


def conv_net_cases(*, reg: bool = False) -> st.SearchStrategy[Case]:
    """Data (N, C, H, W) with H = W of 2 or 4, labels, parameters and reg."""
    return _case(reg)


def _kwargs(case: Case) -> dict[str, Any]:
    return {**case["dims"], "weight_scale": 1e-3, "reg": case["reg"]}


def conv_net_oracle(params: dict[str, Any], X: Any, y: Any, reg: float, filter_size: int
                    ) -> tuple[Any, float, dict[str, Any], dict[str, Any]]:
    """(scores, loss, grads, the forward's intermediate values) in float64."""
    conv_param = {"stride": 1, "pad": (filter_size - 1) // 2}
    p = params
    h1, _ = oracle.conv(X, p["W1"], p["b1"], conv_param, _NO_DOUT)
    h1 = np.asarray(h1)
    r1 = np.maximum(h1, 0.0)
    p1, _ = oracle.pool(r1, POOL, _NO_DOUT)
    p1 = np.asarray(p1)
    n = X.shape[0]
    h2, _ = oracles.affine(p1, p["W2"], p["b2"], np.zeros((n, p["W2"].shape[1])))
    r2 = np.maximum(h2, 0.0)
    scores, _ = oracles.affine(r2, p["W3"], p["b3"], np.zeros((n, p["W3"].shape[1])))
    data, ds = oracles.loss("softmax_loss", scores, y)
    _, (dr2, dW3, db3) = oracles.affine(r2, p["W3"], p["b3"], ds)
    dh2 = np.where(h2 > 0, dr2, 0.0)
    _, (dp1, dW2, db2) = oracles.affine(p1, p["W2"], p["b2"], dh2)
    _, (dr1,) = oracle.pool(r1, POOL, dp1)
    dh1 = np.where(h1 > 0, dr1, 0.0)
    _, (_, dW1, db1) = oracle.conv(X, p["W1"], p["b1"], conv_param, dh1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
    loss = data + 0.5 * reg * sum(float(np.sum(p[k] ** 2)) for k in WEIGHTS)
    for k in WEIGHTS:
        grads[k] = grads[k] + reg * p[k]
    return scores, loss, grads, {"h1": h1, "r1": r1, "h2": h2}


def _dtype(res: NetReply) -> np.dtype[Any]:
    grads = res.get("grads")
    values = [res.get("scores"), res.get("loss")]
    values += list(grads.values()) if isinstance(grads, dict) else []
    try:
        return working_dtype(*values)
    except (TypeError, ValueError):
        return np.dtype(np.float64)


class ConvNetChecks:
    """The checks of ThreeLayerConvNet, each a named step."""

    where = f"{NAME}.loss(X, y)"

    def expected(self, case: Case, dtype: np.dtype[Any], params_dtype: np.dtype[Any] | None = None
                 ) -> tuple[Any, float, dict[str, Any]]:
        """The oracle on X rounded to ``dtype`` and the params to ``params_dtype`` (or dtype)."""
        at = dtype if params_dtype is None else params_dtype
        params = {k: rounded(v, at) for k, v in case["params"].items()}
        scores, loss, grads, _ = conv_net_oracle(params, rounded(case["X"], dtype), case["y"],
                                                 case["reg"], case["dims"]["filter_size"])
        return scores, loss, grads

    @staticmethod
    def judged(judging: Any, dtype: np.dtype[Any]) -> None:
        """``judging(params_dtype)`` with the params rounded as the inputs (None), then, if that
        fails, to float32: the course's net keeps its params in float32 (its default dtype),
        yet float64 data promotes every value it returns to float64."""
        try:
            judging(None)
        except CheckFailed:
            if dtype == np.float32:
                raise
            try:
                judging(np.dtype(np.float32))
            except CheckFailed:
                pass
            else:
                return
            raise

    def judgeable(self, case: Case) -> None:
        """Set aside a case where the net's gradient is not unique or the course's softmax
        underflows (see the module docstring)."""
        p, fs = case["params"], case["dims"]["filter_size"]
        h1 = maths.correlate(case["X"], p["W1"], p["b1"], 1, (fs - 1) // 2)
        assume(np.min(np.abs(h1)) > 1e-6)
        # Equal maxima matter only where they are positive (ReLU's zeros get no gradient).
        r1 = np.where(h1 > 0, h1, -1.0 - np.arange(h1.size).reshape(h1.shape))
        assume(not window_ties(r1, POOL))
        n, k = h1.shape[0], h1.shape[1] * (h1.shape[2] // 2) * (h1.shape[3] // 2)
        pooled = np.maximum(h1, 0.0).reshape(n, -1, h1.shape[2] // 2, 2, h1.shape[3] // 2, 2)
        h2 = pooled.max(axis=(3, 5)).reshape(n, k) @ p["W2"] + p["b2"]
        assume(np.min(np.abs(h2)) > 1e-6)
        scores = np.maximum(h2, 0.0) @ p["W3"] + p["b3"]
        y = np.asarray(case["y"])
        gaps = scores.max(axis=1) - scores[np.arange(len(y)), y]
        assume(float(gaps.max()) < MAX_SCORE_GAP)

    def call(self, ex: Executor, case: Case) -> NetReply:
        return ex.call("net", name=NAME, kwargs=_kwargs(case), params=case["params"],
                       X=case["X"], y=case["y"])

    def judge_loss(self, case: Case, res: NetReply) -> None:
        value = res["loss"]
        check_numeric(value, f"{self.where} (loss)")
        expect_finite(value, "loss", self.where)
        dtype = _dtype(res)
        self.judged(lambda at: judge(
            self.where, ["loss"], [np.squeeze(value)], [self.expected(case, dtype, at)[1]],
            tolerance_for(dtype), "softmax loss + 0.5*reg*sum(W**2)"), dtype)

    def judge_grads(self, case: Case, res: NetReply, what: str) -> None:
        grads = res["grads"]
        if not isinstance(grads, dict):
            raise CheckFailed("bad-return", f"{self.where} returned grads of type "
                              f"{type(grads).__name__}; expected a dict with the keys of params")
        keys = sorted(case["params"])
        missing = [k for k in keys if k not in grads]
        if missing:
            raise CheckFailed("bad-return", f"{self.where} returned grads without {missing}; "
                              "expected one gradient per parameter, with the same keys",
                              facts=Facts(where=self.where, value="grads",
                                          missing_keys=tuple(missing)))
        for k in keys:
            expect_shape(grads[k], case["params"][k].shape, k, self.where, f"the shape of {k}")
            expect_finite(grads[k], k, self.where)
        dtype = working_dtype(*(grads[k] for k in keys))

        def judging(at: np.dtype[Any] | None) -> None:
            exp = self.expected(case, dtype, at)[2]
            judge(self.where, keys, [grads[k] for k in keys], [exp[k] for k in keys],
                  tolerance_for(dtype), what)

        self.judged(judging, dtype)

    # --- the checks -----------------------------------------------------------------------

    def scores(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)
        where = f"{NAME}.loss(X)"
        n, c = case["X"].shape[0], case["dims"]["num_classes"]
        expect_shape(res["scores"], (n, c), "scores", where, "(N, C) class scores")
        dtype = working_dtype(res["scores"])
        self.judged(lambda at: judge(where, ["scores"], [res["scores"]],
                                     [self.expected(case, dtype, at)[0]], tolerance_for(dtype),
                                     "the oracle's scores"), dtype)

    def with_blame(self, ex: Executor, case: Case, judging: Callable[[], None]) -> None:
        """Judge; on a failure, replay the net with its layer calls recorded and name the
        guilty call (the facts' ``where``) and what it got wrong (``value``)."""
        try:
            judging()
        except CheckFailed as exc:
            try:
                traced = ex.call("conv_net_traced", kwargs=_kwargs(case),
                                 params=case["params"], X=case["X"], y=case["y"])
                found = blame_conv_net(case, dict(traced))
            except (StudentError, ContractError):
                found = None
            if found is None:
                raise
            raise exc.amended(message=f"{exc.message}. Guilty: {found.message}.",
                              facts=replace(exc.facts, where=found.culprit,
                                            value=found.value)) from None

    def loss(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)
        self.with_blame(ex, case, lambda: self.judge_loss(case, res))

    def gradients(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)
        self.with_blame(ex, case, lambda: self.judge_grads(
            case, res, "jax.vjp of each layer, chained"))

    def regularization(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)

        def judging() -> None:
            self.judge_loss(case, res)
            self.judge_grads(case, res, "the chained gradients of the regularized loss")

        self.with_blame(ex, case, judging)

    def numerical(self, ex: Executor, case: Case) -> bool:
        self.judgeable(case)
        res = self.call(ex, case)
        keys = sorted(case["params"])
        try:
            self.judge_loss(case, res)
            grads = res["grads"]
            for k in keys:
                expect_shape(grads[k], case["params"][k].shape, k, NAME, "")
            moved = {**case, "params": nearby(case["params"], keys)}
            self.judge_loss(moved, self.call(ex, moved))
            claimed = [grads[k] for k in keys]
        except (CheckFailed, StudentError, KeyError, TypeError):
            return False  # the loss and gradients checks report it
        kwargs = _kwargs(case)
        f = ScenarioForward(ex, "net_loss", lambda *vals: {
            "name": NAME, "kwargs": kwargs, "params": dict(zip(keys, vals)),
            "X": case["X"], "y": case["y"]}, lambda value: value)
        # Random directions from the first evaluation on (no element-by-element pass): the
        # net's loss runs the student's naive convolution, a few milliseconds a call.
        judge_on_budget(self.where, keys, f, [case["params"][k] for k in keys], claimed, case,
                        elementwise_limit=0)
        return True

    def checks(self) -> list[Check]:
        plain, reg = conv_net_cases(), conv_net_cases(reg=True)
        return [
            Check("scores", plain, self.scores, "loss(X) returns the oracle's scores"),
            Check("loss", plain, self.loss, "the softmax loss matches the oracle"),
            Check("gradients", plain, self.gradients, "grads match the chained jax.vjp"),
            Check("regularization", reg, self.regularization,
                  "with reg > 0: loss and grads include 0.5*reg*sum(W**2)"),
            Check("numerical", st.one_of(plain, reg), self.numerical,
                  "grads match centred differences of your own loss",
                  unjudged="this check differentiates your own loss, which is wrong on every "
                  "example (see the loss check)"),
        ]


def conv_net_checks() -> list[Check]:
    """The checks of ThreeLayerConvNet."""
    return ConvNetChecks().checks()
