"""The checks of one recurrent layer's forward or backward function, as named steps.

Forward: every output matches the JAX oracle on inputs rounded to the submission's working
precision, and the inputs are left as they were.  Backward (run on the cache the
submission's own forward returned): every gradient has its input's shape and matches
``jax.vjp``; it matches centred differences of the submission's own forward (the scalar
``Σ_k Σ out_k · upstream_k``), where that forward is right; and neither the upstream gradients
nor the cached inputs are changed in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import as_gradients
from bpverify.families.recurrent.checks import oracle
from bpverify.families.recurrent.checks.cases import layer_cases
from bpverify.families.recurrent.contract import SPECS, RecurrentSpec
from bpverify.families.recurrent.scenarios import LayerReply
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

__all__ = ["NUMERICAL_BUDGET", "RecurrentChecks", "layer_checks"]

#: Evaluations of the submission's forward one numerical check may spend.  A correct gradient
#: costs a handful (one random direction); a wrong dWx of an LSTM is wrong in up to 100
#: elements, and locating every one of them through a Python loop over the steps took
#: seconds per example (a minute for a failing check, shrinking included).  The first
#: located elements say as much; a correct gradient never comes near the budget.
NUMERICAL_BUDGET = 150


def _weighted(outs: Sequence[Any], upstream: Sequence[Any]) -> Any:
    """Σ_k Σ out_k · upstream_k in the precision the outputs were computed in."""
    arrays = [np.asarray(o) for o in outs]
    kinds = [a.dtype for a in arrays if a.dtype.kind == "f"]
    dtype = min(kinds, key=lambda d: d.itemsize) if kinds else np.dtype(np.float64)
    total = sum(float(np.sum(a.astype(np.float64) * u)) for a, u in zip(arrays, upstream))
    return dtype.type(total)


class RecurrentChecks:
    """The checks of one layer of rnn_layers.py, over its :class:`RecurrentSpec`."""

    def __init__(self, spec: RecurrentSpec) -> None:
        self.spec = spec

    # --- what the oracle says --------------------------------------------------------------

    def inputs(self, case: Case) -> list[Any]:
        return [case[n] for n in self.spec.inputs]

    def upstream(self, case: Case) -> list[Any]:
        return [case[n] for n in self.spec.upstream]

    def expected(self, case: Case, dtype: np.dtype[Any]) -> tuple[list[Any], list[Any]]:
        ins = {n: case[n] if n not in self.spec.wrt else rounded(case[n], dtype)
               for n in self.spec.inputs}
        ups = [rounded(u, dtype) for u in self.upstream(case)]
        return oracle.layer(self.spec.base, ins, self.spec.wrt, self.spec.outputs, ups)

    # --- judging ---------------------------------------------------------------------------

    def judge_forward(self, case: Case, outs: Sequence[Any]) -> None:
        where = self.spec.forward_call()
        for name, out, up in zip(self.spec.outputs, outs, self.upstream(case)):
            expect_shape(out, np.shape(up), name, where, f"{name} has the shape {np.shape(up)} "
                         "that the docstring gives it", named=True)  # None: the starter's
        dtype = working_dtype(*outs)
        judge(where, list(self.spec.outputs), list(outs), self.expected(case, dtype)[0],
              tolerance_for(dtype), "the oracle's value")

    def grads_of(self, res: LayerReply) -> tuple[Any, ...]:
        return as_gradients(res.get("grads"), list(self.spec.grads), self.spec.backward_call())

    def judge_backward(self, case: Case, grads: Sequence[Any], outs: Sequence[Any]) -> None:
        where = self.spec.backward_call()
        for gname, g, wrt in zip(self.spec.grads, grads, self.spec.wrt):
            expect_shape(g, np.shape(case[wrt]), gname, where,
                         f"a gradient has the shape of {wrt}")
            expect_finite(g, gname, where)
        # Backward computes from what forward cached: float32 outputs (next_h cast to the
        # params' dtype) make float32 gradients, even when dnext_h turns them into float64.
        dtype = working_dtype(*grads, *outs)
        judge(where, list(self.spec.grads), list(grads), self.expected(case, dtype)[1],
              tolerance_for(dtype), "the chain rule (upstream gradient times local gradient, "
              "summed over every step that uses a value)")

    # --- running the submission ----------------------------------------------------------------

    def call(self, ex: Executor, case: Case, backward: bool) -> LayerReply:
        reply: LayerReply = ex.call("recurrent_layer", base=self.spec.base,
                                    inputs=self.inputs(case), upstream=self.upstream(case),
                                    backward=backward)
        return reply

    def forward(self, ex: Executor, case: Case) -> None:
        self.judge_forward(case, self.call(ex, case, False)["outs"])

    def forward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, False)
        judge_unmodified(self.spec.forward, self.spec.inputs, self.inputs(case),
                         res["inputs_after"], "input")

    def backward(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, True)
        self.judge_backward(case, self.grads_of(res), res["outs"])

    def numerical(self, ex: Executor, case: Case) -> bool:
        spec = self.spec
        res = self.call(ex, case, True)
        ups = self.upstream(case)

        def claimed() -> Sequence[Any]:
            self.judge_forward(case, res["outs"])
            grads = self.grads_of(res)
            for g, wrt in zip(grads, spec.wrt):
                expect_shape(g, np.shape(case[wrt]), "gradient", spec.backward, "")
            moved = nearby(case, spec.wrt)
            self.judge_forward(moved, ex.call("recurrent_forward", base=spec.base,
                                              inputs=self.inputs(moved)))
            return grads

        def kwargs(*args: Any) -> dict[str, Any]:
            point = {**case, **dict(zip(spec.wrt, args))}
            return {"base": spec.base, "inputs": [point[n] for n in spec.inputs]}

        f = ScenarioForward(ex, "recurrent_forward", kwargs, lambda outs: _weighted(outs, ups))
        return judge_numerically(spec.backward, spec.grads, case, claimed=claimed, f=f,
                                 args=[case[n] for n in spec.wrt],
                                 max_evaluations=NUMERICAL_BUDGET)

    def backward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, True)
        judge_unmodified(self.spec.backward, self.spec.inputs, res["inputs_after_forward"],
                         res["inputs_after"], "cached input")
        judge_unmodified(self.spec.backward, self.spec.upstream, self.upstream(case),
                         res["upstream_after"], "upstream gradient")

    def checks(self, item: str) -> list[Check]:
        cases = layer_cases(self.spec.base)
        if item == self.spec.forward:
            return [
                Check("forward", cases, self.forward, "outputs match the JAX oracle"),
                Check("hygiene", cases, self.forward_hygiene, "inputs are left unmodified"),
            ]
        return [
            Check("backward", cases, self.backward,
                  "gradients match jax.vjp with a random upstream"),
            Check("numerical", cases, self.numerical, "gradients match centred differences"),
            Check("hygiene", cases, self.backward_hygiene,
                  "the upstream gradients and the cached inputs are left unmodified"),
        ]


def layer_checks(item: str) -> list[Check]:
    """The checks of ``item``, a layer's forward (e.g. "rnn_forward") or its backward."""
    base = item.rsplit("_", 1)[0]
    return RecurrentChecks(SPECS[base]).checks(item)
