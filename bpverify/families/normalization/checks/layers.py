"""The checks of one normalization layer's forward or backward function.

Forward (train mode) against the JAX oracle; test mode against the running averages;
the running averages a train-mode call stores back in ``bn_param``; backward against
``jax.vjp``; backward against centred differences of the submission's own train-mode forward;
and hygiene (x, gamma, beta, dout and the cached inputs left unmodified; the param dict's
running averages are *meant* to change).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import as_gradients
from bpverify.families.normalization.checks import oracle
from bpverify.families.normalization.checks.cases import norm_cases
from bpverify.families.normalization.contract import NormSpec
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
    weighted_sum,
)
from bpverify.model import Facts
from bpverify.submission import Executor

__all__ = ["NormChecks"]

_INPUTS = ("x", "gamma", "beta")
_GRADS = ("dx", "dgamma", "dbeta")


#: A float32 submission's centred differences take steps of ~0.5% of |x|: a group whose
#: standard deviation sqrt(var + eps) is below this share of max(1, |x|) bends within one step.
_FLOAT32_CONDITION = 0.05


def _judge(where: str, names: Sequence[str], got: Sequence[Any],
           expected: Callable[[np.dtype[Any]], Sequence[Any]], what: str) -> None:
    """judge() in the precision the submission returned; a float64 value that fails is judged
    again as float32 work (inputs rounded to float32, float32's tolerance): a submission that
    casts to float32 inside but meets a float64 running average or eps returns float64."""
    dtype = working_dtype(*got)
    try:
        judge(where, names, got, expected(dtype), tolerance_for(dtype), what)
    except CheckFailed:
        if dtype != np.float64:
            raise
        f32 = np.dtype(np.float32)
        try:
            judge(where, names, got, expected(f32), tolerance_for(f32), what)
        except CheckFailed:
            pass
        else:
            return
        raise


class NormChecks:
    """The checks of one normalization's forward or backward (``backward`` may be the
    ``_alt`` variant), as named steps over its spec."""

    def __init__(self, spec: NormSpec, backward: str | None = None) -> None:
        self.spec = spec
        self.fwd = spec.forward
        self.bwd = backward or spec.backward

    # --- what is sent -------------------------------------------------------------------

    def param(self, case: Case, mode: str = "train") -> dict[str, Any]:
        p: dict[str, Any] = {"eps": case["eps"]}
        if self.spec.running:
            p.update(mode=mode, momentum=case["momentum"], running_mean=case["running_mean"],
                     running_var=case["running_var"])
        return p

    def extra(self, case: Case) -> list[Any]:
        return [case["G"]] if self.spec.grouped else []

    def call(self, ex: Executor, case: Case, *, backward: bool, mode: str = "train") -> Any:
        return ex.call("norm_layer", forward=self.fwd, backward=self.bwd if backward else None,
                       inputs=[case[n] for n in _INPUTS], extra=self.extra(case),
                       param=self.param(case, mode), dout=case["dout"])

    def where(self, mode: str = "train") -> str:
        return f"{self.spec.signature()} in {mode} mode" if self.spec.running else \
            self.spec.signature()

    def expected(self, case: Case, dtype: np.dtype[Any]) -> tuple[Any, list[Any]]:
        x, g, b, d = (rounded(case[n], dtype) for n in (*_INPUTS, "dout"))
        return oracle.normalize(self.spec.base, x, g, b, case["eps"], d, case.get("G", 1))

    # --- judges -------------------------------------------------------------------------

    def judge_forward(self, case: Case, out: Any) -> None:
        where = self.where()
        expect_shape(out, case["x"].shape, "out", where, "the shape of x", named=True)
        _judge(where, ["out"], [out], lambda dtype: [self.expected(case, dtype)[0]],
               f"the oracle's value (statistics {self.spec.over}, eps inside the square root)")

    def grads_of(self, case: Case, reply: Any) -> list[Any]:
        """dx, dgamma, dbeta in the grader's shapes (gamma's shape as the submission took it)."""
        grads = list(as_gradients(reply["grads"], _GRADS, self.bwd))
        where = f"{self.bwd}(dout, cache)"
        expect_shape(grads[0], case["x"].shape, "dx", where, "the shape of x")
        own = tuple(reply.get("gamma_shape") or case["gamma"].shape)
        named = tuple(reply.get("gamma_named") or own)
        for i, name in ((1, "dgamma"), (2, "dbeta")):
            if np.shape(grads[i]) != named:  # group norm: the docstring's shape will do too
                expect_shape(grads[i], own, name, where, f"the shape of {name[1:]}")
            grads[i] = np.reshape(grads[i], case["gamma"].shape)
        for name, g in zip(_GRADS, grads):
            expect_finite(g, name, where)
        return grads

    def judge_backward(self, case: Case, grads: Sequence[Any]) -> None:
        _judge(f"{self.bwd}(dout, cache)", _GRADS, grads,
               lambda dtype: self.expected(case, dtype)[1],
               "the chain rule through x_hat, the mean and the variance (jax.vjp)")

    # --- the checks ---------------------------------------------------------------------

    def forward(self, ex: Executor, case: Case) -> None:
        self.judge_forward(case, self.call(ex, case, backward=False)["out"])

    def test_mode(self, ex: Executor, case: Case) -> None:
        out = self.call(ex, case, backward=False, mode="test")["out"]
        where = self.where("test")
        expect_shape(out, case["x"].shape, "out", where, "the shape of x", named=True)

        def expected(dtype: np.dtype[Any]) -> list[Any]:
            x, g, b, rm, rv = (rounded(case[n], dtype) for n in
                               (*_INPUTS, "running_mean", "running_var"))
            return [oracle.with_running(x, g, b, case["eps"], rm, rv)]

        _judge(where, ["out"], [out], expected,
               "gamma * (x - running_mean) / sqrt(running_var + eps) + beta")

    def running(self, ex: Executor, case: Case) -> None:
        after = self.call(ex, case, backward=False)["param_after"]
        where = self.where()
        missing = [k for k in ("running_mean", "running_var") if after.get(k) is None]
        if missing:
            raise CheckFailed(
                "running-missing",
                f"after {where}, bn_param has no {' or '.join(missing)}; the running averages "
                "are stored back in bn_param (bn_param['running_mean'] = running_mean)",
                facts=Facts(where=where, value=missing[0], missing_keys=tuple(missing)))
        got = [after["running_mean"], after["running_var"]]
        c = (case["gamma"].shape[0],)
        for name, g in zip(("running_mean", "running_var"), got):
            expect_shape(g, c, name, where, "one value per feature")

        def expected(dtype: np.dtype[Any]) -> list[Any]:
            return list(oracle.running_stats(
                self.spec.base, rounded(case["x"], dtype), case["momentum"],
                rounded(case["running_mean"], dtype), rounded(case["running_var"], dtype)))

        _judge(where, ["running_mean", "running_var"], got, expected,
               "momentum * running + (1 - momentum) * the batch's mean and (uncorrected) "
               "variance")

    def forward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, backward=False)
        before = [case["x"], *(np.reshape(case[n], res["gamma_shape"]) for n in _INPUTS[1:])]
        judge_unmodified(self.fwd, _INPUTS, before, res["inputs_after"], "input")

    def backward(self, ex: Executor, case: Case) -> None:
        self.judge_backward(case, self.grads_of(case, self.call(ex, case, backward=True)))

    def ill_conditioned(self, case: Case) -> bool:
        """Some group varies too little for float32 centred differences (see
        :data:`_FLOAT32_CONDITION`)."""
        x = np.asarray(case["x"], dtype=np.float64)
        if self.spec.grouped:
            n, c, h, w = x.shape
            x = x.reshape(n, case["G"], c // case["G"], h, w)
        std = np.sqrt(x.var(axis=oracle.statistics_axes(self.spec.base)) + case["eps"])
        return bool(np.any(std < _FLOAT32_CONDITION * max(1.0, float(np.max(np.abs(x))))))

    def numerical(self, ex: Executor, case: Case) -> bool:
        res = self.call(ex, case, backward=True)
        low = working_dtype(res.get("out")) != np.float64
        if low and self.ill_conditioned(case):
            return False  # not judged: float32 steps are wider than this example's curvature

        def claimed() -> Sequence[Any]:
            self.judge_forward(case, res["out"])
            grads = self.grads_of(case, res)
            if low:  # a float32 forward's gradients, whatever dtype they came back in
                grads = [np.asarray(g, dtype=np.float32) for g in grads]
            moved = nearby(case, _INPUTS)
            self.judge_forward(moved, ex.call(
                "norm_forward", forward=self.fwd, inputs=[moved[n] for n in _INPUTS],
                extra=self.extra(case), param=self.param(case)))
            return grads

        fwd, extra, param = self.fwd, self.extra(case), self.param(case)
        f = ScenarioForward(
            ex, "norm_forward",
            lambda *ins: {"forward": fwd, "inputs": list(ins), "extra": extra, "param": param},
            lambda out: weighted_sum(out, case["dout"]))
        return judge_numerically(self.bwd, _GRADS, case, claimed=claimed, f=f,
                                 args=[case[n] for n in _INPUTS])

    def backward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, backward=True)
        judge_unmodified(self.bwd, _INPUTS, res["inputs_after_forward"], res["inputs_after"],
                         "cached input")
        judge_unmodified(self.bwd, ["dout"], [case["dout"]], [res["dout_after"]],
                         "upstream gradient")

    def checks(self, item: str) -> list[Check]:
        cases = norm_cases(self.spec)
        if item == self.fwd:
            found = [Check("forward", cases, self.forward,
                           f"train mode: out matches the JAX oracle (statistics {self.spec.over})")]
            if self.spec.running:
                found += [
                    Check("test mode", cases, self.test_mode,
                          "test mode normalizes with the running averages"),
                    Check("running averages", cases, self.running,
                          "train mode stores momentum-weighted running averages in bn_param"),
                ]
            return [*found, Check("hygiene", cases, self.forward_hygiene,
                                  "x, gamma and beta are left unmodified")]
        return [
            Check("backward", cases, self.backward,
                  "dx, dgamma, dbeta match jax.vjp with a random upstream"),
            Check("numerical", cases, self.numerical,
                  "gradients match centred differences of your own forward",
                  unjudged="this check uses your forward, which is wrong on every example (see "
                           "the forward check), or computes in float32 where every example "
                           "had a group of too small a variance for float32's differences"),
            Check("hygiene", cases, self.backward_hygiene,
                  "dout and the cached inputs are left unmodified"),
        ]
