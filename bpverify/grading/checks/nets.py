"""Two- and three-layer nets: scores, loss, gradients, the L2 term, and layer-by-layer blame."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.contract import ContractError, check_numeric
from bpverify.grading import oracles
from bpverify.grading.blame import blame_net
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    expect_finite,
    expect_shape,
    judge,
    judge_numerical,
    nearby,
    rounded,
)
from bpverify.grading.compare import tolerance_for, working_dtype
from bpverify.submission import Executor, StudentError


def net_kwargs(name: str, case: Case) -> dict[str, Any]:
    dims = case["dims"]
    kw: dict[str, Any] = {"input_dim": dims[0]}
    if name == "TwoLayerNet":
        kw["hidden_dim"] = dims[1]
    else:
        kw["hidden_dims"] = (dims[1], dims[2])
    kw.update(num_classes=dims[-1], weight_scale=1e-3, reg=case["reg"])
    return kw


def net_checks(name: str) -> list[Check]:
    layers = 2 if name == "TwoLayerNet" else 3

    def away_from_kinks(case: Case) -> None:
        # Exactly at a ReLU kink the net's gradient is not unique; the numerical check judges
        # those points by the subgradient rule, the oracle comparisons stay away from them.
        h = case["X"]
        for i in range(1, layers):
            h = h @ case["params"][f"W{i}"] + case["params"][f"b{i}"]
            assume(np.min(np.abs(h)) > 1e-6)
            h = np.maximum(h, 0.0)

    def call(ex: Executor, case: Case) -> dict[str, Any]:
        return ex.call("net", name=name, kwargs=net_kwargs(name, case),
                       params=case["params"], X=case["X"], y=case["y"])

    def expected(case: Case, dtype: np.dtype[Any]) -> tuple[Any, Any, dict[str, Any]]:
        params = {k: rounded(v, dtype) for k, v in case["params"].items()}
        return oracles.net(params, rounded(case["X"], dtype), case["y"], case["reg"], layers)

    def judge_grads(case: Case, res: dict[str, Any], what: str) -> None:
        where = f"{name}.loss(X, y)"
        grads = res["grads"]
        if not isinstance(grads, dict):
            raise CheckFailed("bad-return", f"{where} returned grads of type "
                              f"{type(grads).__name__}; expected a dict with the keys of params")
        missing = sorted(set(case["params"]) - set(grads))
        if missing:
            raise CheckFailed("bad-return", f"{where} returned grads without {missing}; "
                              "expected one gradient per parameter, with the same keys")
        keys = sorted(case["params"])
        for k in keys:
            expect_shape(grads[k], case["params"][k].shape, k, where, f"the shape of {k}")
            expect_finite(grads[k], k, where)
        dtype = working_dtype(*(grads[k] for k in keys))
        _, _, exp = expected(case, dtype)
        judge(where, keys, [grads[k] for k in keys], [exp[k] for k in keys],
               tolerance_for(dtype), what)

    def judge_loss(case: Case, res: dict[str, Any]) -> None:
        where = f"{name}.loss(X, y)"
        value = res["loss"]
        check_numeric(value, f"{where} (loss)")
        expect_finite(value, "loss", where)
        dtype = working_dtype(value)
        judge(where, ["loss"], [np.squeeze(value)], [expected(case, dtype)[1]],
               tolerance_for(dtype), "softmax loss + 0.5*reg*sum(W**2)")

    def scores(ex: Executor, case: Case) -> None:
        away_from_kinks(case)
        res = call(ex, case)
        where = f"{name}.loss(X)"
        n, c = case["X"].shape[0], case["dims"][-1]
        expect_shape(res["scores"], (n, c), "scores", where, "(N, C) class scores")
        dtype = working_dtype(res["scores"])
        judge(where, ["scores"], [res["scores"]], [expected(case, dtype)[0]],
               tolerance_for(dtype), "the oracle's scores")

    def with_blame(ex: Executor, case: Case, judge: Callable[[], None]) -> None:
        """Judge; on failure, replay the net layer by layer and name the guilty call."""
        try:
            judge()
        except CheckFailed as exc:
            try:
                traced = ex.call("net_traced", name=name, kwargs=net_kwargs(name, case),
                                 params=case["params"], X=case["X"], y=case["y"])
                found = blame_net(name, layers, case, traced)
            except (StudentError, ContractError):
                found = None
            if found is None:
                raise
            raise CheckFailed(
                exc.kind, f"{exc.message}. Guilty: {found.message}.", expected=exc.expected,
                got=exc.got, mismatches=exc.mismatches, count=exc.count,
            ) from None

    def loss(ex: Executor, case: Case) -> None:
        away_from_kinks(case)
        res = call(ex, case)
        with_blame(ex, case, lambda: judge_loss(case, res))

    def gradients(ex: Executor, case: Case) -> None:
        away_from_kinks(case)
        res = call(ex, case)
        with_blame(ex, case, lambda: judge_grads(case, res, "jax.grad of the loss"))

    def regularization(ex: Executor, case: Case) -> None:
        away_from_kinks(case)
        res = call(ex, case)

        def judge() -> None:
            judge_loss(case, res)
            judge_grads(case, res, "jax.grad of the regularized loss")

        with_blame(ex, case, judge)

    def numerical(ex: Executor, case: Case) -> bool:
        # At a kink backprop may rightly disagree with a two-sided difference even where the
        # loss is smooth (two kinks that cancel), so this check too stays away from them.
        away_from_kinks(case)
        res = call(ex, case)
        keys = sorted(case["params"])
        try:
            judge_loss(case, res)
            grads = res["grads"]
            for k in keys:
                expect_shape(grads[k], case["params"][k].shape, k, name, "")
            moved = {**case, "params": nearby(case["params"], keys)}
            judge_loss(moved, call(ex, moved))
        except (CheckFailed, ContractError, StudentError, KeyError, TypeError):
            return False
        kwargs = net_kwargs(name, case)

        def f(*vals: Any) -> Any:
            return ex.call("net_loss", name=name, kwargs=kwargs, params=dict(zip(keys, vals)),
                           X=case["X"], y=case["y"])

        judge_numerical(f"{name}.loss(X, y)", keys, f, [case["params"][k] for k in keys],
                   [grads[k] for k in keys], case)
        return True

    plain_cases = strategies.net_cases(name)
    reg_cases = strategies.net_cases(name, reg=True)
    return [
        Check("scores", plain_cases, scores, "loss(X) returns the oracle's scores"),
        Check("loss", plain_cases, loss, "the softmax loss matches the oracle"),
        Check("gradients", plain_cases, gradients, "grads match jax.grad"),
        Check("regularization", reg_cases, regularization,
              "with reg > 0: loss and grads include 0.5*reg*sum(W**2)"),
        Check("numerical", st.one_of(plain_cases, reg_cases), numerical,
              "grads match centred differences of your own loss"),
    ]


