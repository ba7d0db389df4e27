"""The checks of CS231n's FullyConnectedNet: normalization, dropout, the modes, the L2 term.

The grader builds the net in the generation its constructor was written for (``normalization=``
or 2016-2017's ``use_batchnorm``; dropout's keep or drop probability; ``seed``; dtype float64),
overwrites ``params`` with its own values and calls ``loss(X, y)`` (train mode) or ``loss(X)``
(test mode), every layer call recorded.  Loss, gradients and scores are judged against the JAX
oracle (:mod:`.netoracle`); dropout with the net's own mask, read from its dropout_forward
calls.  A failure is replayed layer by layer (:mod:`.netblame`): its facts name the guilty
call (``where``) and the value it got wrong (``value``), as the other nets' blame does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import check_numeric
from bpverify.families.normalization.checks.netblame import blame_fc_net
from bpverify.families.normalization.checks.netoracle import (
    judgeable,
    net_cases,
    param_names,
    run_oracle,
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
    rounded,
)
from bpverify.model import Facts
from bpverify.submission import Executor

__all__ = ["KEEP", "FcNetChecks", "masks_of"]

#: The probability of keeping a unit in the dropout checks (2016-2017 nets get dropout=0.25).
KEEP = 0.75
TRAIN = "FullyConnectedNet.loss(X, y)"
TEST = "FullyConnectedNet.loss(X)"


def masks_of(calls: Sequence[dict[str, Any]], hidden: int) -> list[np.ndarray] | None:
    """The net's own dropout masks, out / x of each dropout_forward call (0 where x is 0: the
    ReLU already stopped those units); None when it never called dropout_forward."""
    drops = [c for c in calls if c.get("fn") == "dropout_forward"]
    if not drops:
        return None
    if len(drops) != hidden:
        raise CheckFailed("wrong-values", f"{TRAIN} called dropout_forward {len(drops)} "
                          f"times; expected once per hidden layer ({hidden})",
                          facts=Facts(where="FullyConnectedNet.loss", value="dropout_forward"))
    masks = []
    for c in drops:
        x = np.asarray((c.get("args") or [None])[0], dtype=np.float64)
        out = np.asarray(c.get("out"), dtype=np.float64)
        if x.shape != out.shape:
            return None
        with np.errstate(all="ignore"):
            masks.append(np.where(x != 0, out / np.where(x != 0, x, 1.0), 0.0))
    return masks


class FcNetChecks:
    """The checks of FullyConnectedNet, each a named step."""

    def config(self, case: Case, norm: str | None, keep: float | None = None) -> dict[str, Any]:
        return {"dims": case["dims"], "reg": case["reg"], "norm": norm, "keep": keep,
                "seed": 0}

    def params(self, case: Case, norm: str | None) -> dict[str, Any]:
        return {k: case["params"][k] for k in param_names(norm)}

    def call(self, ex: Executor, case: Case, norm: str | None, keep: float | None = None, *,
             test: bool = False) -> dict[str, Any]:
        kw: dict[str, Any] = {"config": self.config(case, norm, keep),
                              "params": self.params(case, norm), "X": case["X"]}
        if test:
            kw["running"] = case["running"]
        else:
            kw["y"] = case["y"]
        return dict(ex.call("fc_net", **kw))

    # --- judging ---------------------------------------------------------------------------

    def judge_grads(self, case: Case, norm: str | None, res: dict[str, Any],
                    expected: Callable[[np.dtype[Any]], dict[str, Any]]) -> None:
        grads, names = res["grads"], param_names(norm)
        if not isinstance(grads, dict):
            raise CheckFailed("bad-return", f"{TRAIN} returned grads of type "
                              f"{type(grads).__name__}; expected a dict with the keys of params",
                              facts=Facts(where=TRAIN, value="grads"))
        missing = tuple(k for k in names if k not in grads)
        if missing:
            raise CheckFailed("bad-return", f"{TRAIN} returned grads without "
                              f"{', '.join(missing)}; expected one gradient per parameter, "
                              "under the keys of params",
                              facts=Facts(where=TRAIN, value="grads", missing_keys=missing))
        for k in names:
            expect_shape(grads[k], np.shape(case["params"][k]), k, TRAIN, f"the shape of {k}")
            expect_finite(grads[k], k, TRAIN)
        dtype = working_dtype(*(grads[k] for k in names))
        exp = expected(dtype)
        judge(TRAIN, names, [grads[k] for k in names], [exp[k] for k in names],
              tolerance_for(dtype), "jax.grad of the net's loss")

    def judge_loss(self, res: dict[str, Any], expected: Callable[[np.dtype[Any]], float],
                   what: str) -> None:
        value = res["loss"]
        check_numeric(value, f"{TRAIN} (loss)")
        expect_finite(value, "loss", TRAIN)
        dtype = working_dtype(value)
        judge(TRAIN, ["loss"], [np.squeeze(value)], [expected(dtype)], tolerance_for(dtype),
              what)

    def with_blame(self, case: Case, norm: str | None, res: dict[str, Any], test: bool,
                   judging: Callable[[], None]) -> None:
        """Judge; on a failure, name the guilty layer call from the recorded calls."""
        try:
            judging()
        except CheckFailed as exc:
            try:
                found = blame_fc_net(case, norm, res, test)
            except (ValueError, TypeError, KeyError, IndexError):
                found = None  # calls the replay cannot line up: the plain verdict
            if found is None:
                raise
            raise exc.amended(message=f"{exc.message}. Guilty: {found.message}.",
                              facts=replace(exc.facts, where=found.culprit,
                                            value=found.value)) from None

    def train(self, ex: Executor, case: Case, norm: str | None,
              keep: float | None = None) -> bool:
        """loss(X, y) and its gradients in train mode; False when the net cannot be built
        this way (layer norm in a 2016-2017 net) or its dropout mask cannot be read."""
        judgeable(case, norm)
        res = self.call(ex, case, norm, keep)
        if "unavailable" in res:
            return False
        masks = None
        if keep is not None:
            masks = masks_of(res.get("calls") or [], len(case["dims"]) - 2)
            if masks is None:
                return False
        params = self.params(case, norm)

        def expected(dtype: np.dtype[Any]) -> Any:
            return run_oracle(norm, {k: rounded(v, dtype) for k, v in params.items()},
                              rounded(case["X"], dtype), case["y"], case["reg"], masks=masks)

        what = (f"the oracle's loss ({norm or 'no normalization'} in train mode"
                + (", dropout with the net's own mask" if keep is not None else "")
                + ", plus 0.5*reg*sum(W**2) over the weights only)")

        def judging() -> None:
            self.judge_loss(res, lambda dtype: expected(dtype).loss, what)
            self.judge_grads(case, norm, res, lambda dtype: expected(dtype).grads)

        self.with_blame(case, norm, res, False, judging)
        return True

    # --- the checks -------------------------------------------------------------------------

    def batchnorm(self, ex: Executor, case: Case) -> bool:
        return self.train(ex, case, "batchnorm")

    def layernorm(self, ex: Executor, case: Case) -> bool:
        return self.train(ex, case, "layernorm")

    def dropout(self, ex: Executor, case: Case) -> bool:
        return self.train(ex, case, None, KEEP)

    def regularization(self, ex: Executor, case: Case) -> bool:
        # Without batch norm (batchnorm_forward not written yet), the plain net's L2 term.
        return self.train(ex, case, "batchnorm") or self.train(ex, case, None)

    def test_mode(self, ex: Executor, case: Case) -> bool:
        """loss(X) with batch norm and dropout on: the running averages, no mask."""
        judgeable(case, "batchnorm", test=True)
        res = self.call(ex, case, "batchnorm", KEEP, test=True)
        if "unavailable" in res:
            return False
        n, c = np.shape(case["X"])[0], case["dims"][-1]
        expect_shape(res["scores"], (n, c), "scores", TEST, "(N, C) class scores")
        dtype = working_dtype(res["scores"])
        params = self.params(case, "batchnorm")
        want = run_oracle("batchnorm", {k: rounded(v, dtype) for k, v in params.items()},
                          rounded(case["X"], dtype), case["y"], 0.0,
                          running=case["running"], test=True).scores
        self.with_blame(case, "batchnorm", res, True, lambda: judge(
            TEST, ["scores"], [res["scores"]], [want], tolerance_for(dtype),
            "the oracle's scores at test time (batch norm with bn_param's running averages, "
            "no dropout)"))
        return True

    def numerical(self, ex: Executor, case: Case) -> bool:
        # Without batch norm (batchnorm_forward not written yet), the plain net.
        return self.differentiated(ex, case, "batchnorm") or self.differentiated(ex, case, None)

    def differentiated(self, ex: Executor, case: Case, norm: str | None) -> bool:
        judgeable(case, norm)
        res = self.call(ex, case, norm)
        if "unavailable" in res:
            return False
        names = param_names(norm)
        params = self.params(case, norm)

        def claimed() -> list[Any]:
            expected = run_oracle(norm, params, case["X"], case["y"], case["reg"])
            self.judge_loss(res, lambda dtype: expected.loss, "the oracle's loss")
            grads = res["grads"]
            for k in names:
                expect_shape(grads[k], np.shape(params[k]), k, TRAIN, "")
            return [grads[k] for k in names]

        config = self.config(case, norm)
        f = ScenarioForward(ex, "fc_net_loss", lambda *vals: {
            "config": config, "params": dict(zip(names, vals)), "X": case["X"],
            "y": case["y"]}, lambda value: value)
        return judge_numerically(TRAIN, names, case, claimed=claimed, f=f,
                                 args=[params[k] for k in names],
                                 untrusted=(KeyError, TypeError))

    def checks(self) -> list[Check]:
        plain, reg = net_cases(), net_cases(reg=True)
        return [
            Check("batchnorm", plain, self.batchnorm, "with batch norm, in train mode: the "
                  "loss and every gradient (W, b, gamma, beta) match the oracle",
                  unjudged="the net cannot be built with batch normalization here "
                  "(batchnorm_forward not written, or no argument turns it on)"),
            Check("layernorm", plain, self.layernorm, "with layer norm: the loss and every "
                  "gradient match the oracle",
                  unjudged="the net has no layer normalization here (a 2016-2017 starter's "
                  "use_batchnorm only, or layernorm_forward not written), so it is not graded"),
            Check("dropout", plain, self.dropout, "with dropout, in train mode: the loss and "
                  "gradients match the oracle with the net's own mask",
                  unjudged="the net never calls dropout_forward, so its mask cannot be read"),
            Check("test-mode", plain, self.test_mode, "loss(X) with batch norm and dropout: "
                  "the running averages are used and dropout is off",
                  unjudged="the net keeps no bn_params list in which the running averages "
                  "are set"),
            Check("regularization", reg, self.regularization, "with reg > 0: the loss and "
                  "grads add 0.5*reg*sum(W**2) over the weights, never over gamma and beta",
                  unjudged="the net cannot be built"),
            Check("numerical", st.one_of(plain, reg), self.numerical, "the gradients match "
                  "centred differences of your own loss (with batch norm where the net has it)",
                  unjudged="this check differentiates your own loss, which is wrong on every "
                  "example (see the batchnorm check)"),
        ]
