"""CS231n-style layer functions: affine and ReLU forward/backward pairs.

What differs between layers is data (:class:`LayerSpec`: inputs, strategy, oracle, output
shape, subgradient rule); the checks are one set of named steps over a spec.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import as_gradients
from bpverify.grading import oracles
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
    weighted_sum,
)
from bpverify.submission import Executor
from bpverify.submission.replies import LayerReply


def _relu_subgradient(case: Case, got: Any, expected: Any, dtype: np.dtype[Any]) -> Any:
    """At x == 0 any value between 0 and dout is a valid subgradient of ReLU."""
    dout = rounded(case["dout"], dtype)
    x, g = rounded(case["x"], dtype), np.asarray(got, dtype=np.float64)
    lo, hi = np.minimum(0.0, dout), np.maximum(0.0, dout)
    return np.where(x == 0, np.clip(g, lo, hi), expected)


@dataclass(frozen=True)
class LayerSpec:
    """What one kind of layer is: its inputs, cases, oracle, output shape and kinks."""

    base: str  #: "affine": the functions are affine_forward and affine_backward
    inputs: tuple[str, ...]
    cases: Callable[[], st.SearchStrategy[Case]]
    oracle: Callable[..., tuple[Any, list[Any]]]
    out_shape: Callable[[Case], tuple[int, ...]]
    shape_hint: str  #: says what the output's shape should be
    #: (case, got, expected, dtype) -> expected, where a kink allows other values; None: none
    kinks: Callable[[Case, Any, Any, np.dtype[Any]], Any] | None = None

    @property
    def grads(self) -> list[str]:
        return ["d" + n for n in self.inputs]


LAYERS: dict[str, LayerSpec] = {
    s.base: s
    for s in (
        LayerSpec("affine", ("x", "w", "b"), strategies.affine_cases, oracles.affine,
                  lambda case: (case["x"].shape[0], case["w"].shape[1]),
                  "(N, M): x is flattened to (N, D)"),
        LayerSpec("relu", ("x",), strategies.relu_cases, oracles.relu,
                  lambda case: case["x"].shape, "the shape of x", kinks=_relu_subgradient),
    )
}


class LayerChecks:
    """The checks of one layer's forward or backward function, as named steps over its spec."""

    def __init__(self, spec: LayerSpec) -> None:
        self.spec = spec
        self.fwd, self.bwd = f"{spec.base}_forward", f"{spec.base}_backward"

    def inputs(self, case: Case) -> list[Any]:
        return [case[n] for n in self.spec.inputs]

    def expected(self, case: Case, dtype: np.dtype[Any]) -> tuple[Any, list[Any]]:
        return self.spec.oracle(*[rounded(v, dtype) for v in self.inputs(case)],
                                rounded(case["dout"], dtype))

    def judge_forward(self, case: Case, out: Any) -> None:
        where = f"{self.fwd}({', '.join(self.spec.inputs)})"
        expect_shape(out, self.spec.out_shape(case), "out", where, self.spec.shape_hint,
                     named=True)  # out of (out, cache)
        dtype = working_dtype(out)
        judge(where, ["out"], [out], [self.expected(case, dtype)[0]], tolerance_for(dtype),
              "the oracle's value")

    def judge_backward(self, case: Case, grads: Sequence[Any]) -> None:
        where = f"{self.bwd}(dout, cache)"
        for gname, g, v in zip(self.spec.grads, grads, self.inputs(case)):
            expect_shape(g, v.shape, gname, where, f"a gradient has the shape of {gname[1:]}")
            expect_finite(g, gname, where)
        dtype = working_dtype(*grads)
        exp = self.expected(case, dtype)[1]
        if self.spec.kinks is not None:
            exp = [self.spec.kinks(case, grads[0], exp[0], dtype), *exp[1:]]
        judge(where, self.spec.grads, grads, exp, tolerance_for(dtype),
              "the chain rule (upstream gradient times local gradient)")

    def call(self, ex: Executor, case: Case, with_backward: bool) -> LayerReply:
        return ex.call("layer", forward=self.fwd, backward=self.bwd if with_backward else None,
                       inputs=self.inputs(case), dout=case["dout"])

    def grads_of(self, res: LayerReply) -> tuple[Any, ...]:
        return as_gradients(res["grads"], self.spec.grads, self.bwd)

    def forward(self, ex: Executor, case: Case) -> None:
        self.judge_forward(case, self.call(ex, case, False)["out"])

    def forward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, False)
        judge_unmodified(self.fwd, self.spec.inputs, self.inputs(case), res["inputs_after"],
                         "input")

    def backward(self, ex: Executor, case: Case) -> None:
        self.judge_backward(case, self.grads_of(self.call(ex, case, True)))

    def numerical(self, ex: Executor, case: Case) -> bool:
        res = self.call(ex, case, True)

        def claimed() -> Sequence[Any]:
            self.judge_forward(case, res["out"])
            grads = self.grads_of(res)
            for g, v in zip(grads, self.inputs(case)):
                expect_shape(g, v.shape, "gradient", self.bwd, "")
            moved = nearby(case, self.spec.inputs)
            self.judge_forward(moved, ex.call("layer_forward", forward=self.fwd,
                                              inputs=self.inputs(moved)))
            return grads

        fwd = self.fwd
        f = ScenarioForward(ex, "layer_forward", lambda *ins: {"forward": fwd, "inputs": list(ins)},
                            lambda out: weighted_sum(out, case["dout"]))

        return judge_numerically(self.bwd, self.spec.grads, case, claimed=claimed, f=f,
                                 args=self.inputs(case))

    def backward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, True)
        judge_unmodified(self.bwd, self.spec.inputs, res["inputs_after_forward"],
                         res["inputs_after"], "cached input")
        judge_unmodified(self.bwd, ["dout"], [case["dout"]], [res["dout_after"]],
                         "upstream gradient")

    def checks(self, item: str) -> list[Check]:
        cases = self.spec.cases()
        if item == self.fwd:
            return [
                Check("forward", cases, self.forward, "out matches the JAX oracle"),
                Check("hygiene", cases, self.forward_hygiene, "inputs are left unmodified"),
            ]
        return [
            Check("backward", cases, self.backward,
                  "gradients match jax.vjp with a random upstream"),
            Check("numerical", cases, self.numerical, "gradients match centred differences"),
            Check("hygiene", cases, self.backward_hygiene,
                  "dout and the cached inputs are left unmodified"),
        ]


def layer_checks(item: str) -> list[Check]:
    """The checks of ``item``: a layer's forward (e.g. "affine_forward") or its backward."""
    return LayerChecks(LAYERS[item.split("_")[0]]).checks(item)
