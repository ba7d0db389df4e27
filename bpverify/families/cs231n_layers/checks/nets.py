"""Two- and three-layer nets: scores, loss, gradients, the L2 term, and layer-by-layer blame.

Each check is one named step of :class:`NetChecks`; a failed loss or gradient is replayed layer
by layer (:mod:`.blame`) to name the guilty call or the known mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import ContractError, check_numeric
from bpverify.families.cs231n_layers.checks.blame import blame_net, scores_cause
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
    nearby,
    rounded,
)
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError
from bpverify.submission.replies import NetReply


def net_kwargs(name: str, case: Case) -> dict[str, Any]:
    dims = case["dims"]
    kw: dict[str, Any] = {"input_dim": dims[0]}
    if name == "TwoLayerNet":
        kw["hidden_dim"] = dims[1]
    else:
        kw["hidden_dims"] = (dims[1], dims[2])
    kw.update(num_classes=dims[-1], weight_scale=1e-3, reg=case["reg"])
    return kw


def net_dtype(res: NetReply) -> np.dtype[Any]:
    """The precision the net computed in: the lowest among its scores, loss and gradients.

    A float32 net (CS231n's default dtype) may hand back a float64 loss (a float64 L2 term
    added to a float32 data loss); its loss carries float32 rounding all the same.
    """
    grads = res.get("grads")
    values = [res.get("scores"), res.get("loss")]
    values += list(grads.values()) if isinstance(grads, dict) else []
    try:
        return working_dtype(*values)
    except (TypeError, ValueError):
        return np.dtype(np.float64)


#: The largest gap between a sample's best score and its correct class's score a net check
#: draws.  The softmax the course hands out takes probabilities first, then their log: once the
#: correct class's probability exp(-gap) underflows (float32, CS231n's dtype: gap > ~87), its
#: loss is log(0) = inf, in correct code.  Large scores are the loss items' stability checks'
#: business; a net check stays where the course's own softmax is exact.
MAX_SCORE_GAP = 60.0


class NetChecks:
    """The checks of one net, each a named step."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.layers = 2 if name == "TwoLayerNet" else 3
        self.where = f"{name}.loss(X, y)"

    # --- shared steps ---------------------------------------------------------------------

    def judgeable(self, case: Case) -> None:
        """Reject (``assume``) a case no correct net is sure to get right.

        Exactly at a ReLU kink the net's gradient is not unique; the numerical check judges
        those points by the subgradient rule, the oracle comparisons stay away from them.  And
        past a score gap of :data:`MAX_SCORE_GAP` the course's own softmax underflows.
        """
        h = case["X"]
        params = case["params"]
        for i in range(1, self.layers):
            h = h @ params[f"W{i}"] + params[f"b{i}"]
            assume(np.min(np.abs(h)) > 1e-6)
            h = np.maximum(h, 0.0)
        scores = h @ params[f"W{self.layers}"] + params[f"b{self.layers}"]
        y = np.asarray(case["y"])
        gaps = scores.max(axis=1) - scores[np.arange(len(y)), y]
        assume(float(gaps.max()) < MAX_SCORE_GAP)

    def call(self, ex: Executor, case: Case) -> NetReply:
        return ex.call("net", name=self.name, kwargs=net_kwargs(self.name, case),
                       params=case["params"], X=case["X"], y=case["y"])

    def expected(self, case: Case, dtype: np.dtype[Any]) -> tuple[Any, Any, dict[str, Any]]:
        """The oracle's scores, loss and gradients on the inputs rounded to ``dtype``."""
        params = {k: rounded(v, dtype) for k, v in case["params"].items()}
        return oracles.net(params, rounded(case["X"], dtype), case["y"], case["reg"],
                           self.layers)

    def judge_grads(self, case: Case, res: NetReply, what: str) -> None:
        grads = res["grads"]
        if not isinstance(grads, dict):
            raise CheckFailed("bad-return", f"{self.where} returned grads of type "
                              f"{type(grads).__name__}; expected a dict with the keys of params")
        missing = sorted(set(case["params"]) - set(grads))
        if missing:
            raise CheckFailed("bad-return", f"{self.where} returned grads without {missing}; "
                              "expected one gradient per parameter, with the same keys",
                              facts=Facts(where=self.where, value="grads",
                                          missing_keys=tuple(missing)))
        keys = sorted(case["params"])
        for k in keys:
            expect_shape(grads[k], case["params"][k].shape, k, self.where, f"the shape of {k}")
            expect_finite(grads[k], k, self.where)
        dtype = working_dtype(*(grads[k] for k in keys))
        _, _, exp = self.expected(case, dtype)
        judge(self.where, keys, [grads[k] for k in keys], [exp[k] for k in keys],
              tolerance_for(dtype), what)

    def judge_loss(self, case: Case, res: NetReply) -> None:
        value = res["loss"]
        check_numeric(value, f"{self.where} (loss)")
        expect_finite(value, "loss", self.where)
        dtype = net_dtype(res)
        judge(self.where, ["loss"], [np.squeeze(value)], [self.expected(case, dtype)[1]],
              tolerance_for(dtype), "softmax loss + 0.5*reg*sum(W**2)")

    def with_blame(self, ex: Executor, case: Case, judging: Callable[[], None]) -> None:
        """Judge; on failure, replay the net layer by layer and name the guilty call."""
        try:
            judging()
        except CheckFailed as exc:
            try:
                traced = ex.call("net_traced", name=self.name,
                                 kwargs=net_kwargs(self.name, case), params=case["params"],
                                 X=case["X"], y=case["y"])
                found = blame_net(self.name, self.layers, case, traced)
            except (StudentError, ContractError):
                found = None
            if found is None:
                raise
            raise exc.amended(message=f"{exc.message}. Guilty: {found.message}.") from None

    # --- the checks -----------------------------------------------------------------------

    def scores(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)
        where = f"{self.name}.loss(X)"
        n, c = case["X"].shape[0], case["dims"][-1]
        expect_shape(res["scores"], (n, c), "scores", where, "(N, C) class scores")
        dtype = working_dtype(res["scores"])
        want = self.expected(case, dtype)[0]
        try:
            judge(where, ["scores"], [res["scores"]], [want], tolerance_for(dtype),
                  "the oracle's scores")
        except CheckFailed as exc:
            cause = scores_cause(res["scores"], want)
            if cause is None:
                raise
            raise exc.amended(message=f"{exc.message}. Guilty: {cause}.") from None

    def loss(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)
        self.with_blame(ex, case, lambda: self.judge_loss(case, res))

    def gradients(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)
        self.with_blame(ex, case, lambda: self.judge_grads(case, res, "jax.grad of the loss"))

    def regularization(self, ex: Executor, case: Case) -> None:
        self.judgeable(case)
        res = self.call(ex, case)

        def judging() -> None:
            self.judge_loss(case, res)
            self.judge_grads(case, res, "jax.grad of the regularized loss")

        self.with_blame(ex, case, judging)

    def numerical(self, ex: Executor, case: Case) -> bool:
        # At a kink backprop may rightly disagree with a two-sided difference even where the
        # loss is smooth (two kinks that cancel), so this check too stays away from them.
        self.judgeable(case)
        res = self.call(ex, case)
        keys = sorted(case["params"])

        def claimed() -> list[Any]:
            self.judge_loss(case, res)
            grads = res["grads"]
            for k in keys:
                expect_shape(grads[k], case["params"][k].shape, k, self.name, "")
            moved = {**case, "params": nearby(case["params"], keys)}
            self.judge_loss(moved, self.call(ex, moved))
            return [grads[k] for k in keys]

        kwargs = net_kwargs(self.name, case)

        name = self.name
        f = ScenarioForward(ex, "net_loss", lambda *vals: {
            "name": name, "kwargs": kwargs, "params": dict(zip(keys, vals)),
            "X": case["X"], "y": case["y"]}, lambda value: value)

        return judge_numerically(self.where, keys, case, claimed=claimed, f=f,
                                 args=[case["params"][k] for k in keys],
                                 untrusted=(KeyError, TypeError))

    def checks(self) -> list[Check]:
        plain_cases = strategies.net_cases(self.name)
        reg_cases = strategies.net_cases(self.name, reg=True)
        return [
            Check("scores", plain_cases, self.scores, "loss(X) returns the oracle's scores"),
            Check("loss", plain_cases, self.loss, "the softmax loss matches the oracle"),
            Check("gradients", plain_cases, self.gradients, "grads match jax.grad"),
            Check("regularization", reg_cases, self.regularization,
                  "with reg > 0: loss and grads include 0.5*reg*sum(W**2)"),
            Check("numerical", st.one_of(plain_cases, reg_cases), self.numerical,
                  "grads match centred differences of your own loss",
                  unjudged="this check differentiates your own loss, which is wrong on every "
                  "example (see the loss check)"),
        ]


def net_checks(name: str) -> list[Check]:
    """The checks of ``TwoLayerNet`` or ``ThreeLayerNet``."""
    return NetChecks(name).checks()
