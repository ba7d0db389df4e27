"""CS231n-style layer functions: affine and ReLU forward/backward pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bpverify import strategies
from bpverify.contract import ContractError, as_gradients
from bpverify.grading import oracles
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    expect_finite,
    expect_shape,
    judge,
    judge_numerical,
    judge_unmodified,
    nearby,
    rounded,
    weighted_sum,
)
from bpverify.grading.compare import tolerance_for, working_dtype
from bpverify.submission import Executor, StudentError


def layer_checks(item: str) -> list[Check]:
    base = item.split("_")[0]  # "affine" or "relu"
    fwd, bwd = f"{base}_forward", f"{base}_backward"
    names = ["x", "w", "b"] if base == "affine" else ["x"]
    grad_names = ["d" + n for n in names]
    cases = strategies.affine_cases() if base == "affine" else strategies.relu_cases()
    oracle: Callable[..., tuple[Any, list[Any]]] = (
        oracles.affine if base == "affine" else oracles.relu
    )

    def inputs(case: Case) -> list[Any]:
        return [case[n] for n in names]

    def expected(case: Case, dtype: np.dtype[Any]) -> tuple[Any, list[Any]]:
        return oracle(*[rounded(v, dtype) for v in inputs(case)], rounded(case["dout"], dtype))

    def judge_forward(case: Case, out: Any) -> None:
        x = case["x"]
        shape = (x.shape[0], case["w"].shape[1]) if base == "affine" else x.shape
        where = f"{fwd}({', '.join(names)})"
        hint = "(N, M): x is flattened to (N, D)" if base == "affine" else "the shape of x"
        expect_shape(out, shape, "out", where, hint)
        dtype = working_dtype(out)
        judge(where, ["out"], [out], [expected(case, dtype)[0]], tolerance_for(dtype),
               "the oracle's value")

    def judge_backward(case: Case, grads: Sequence[Any]) -> None:
        where = f"{bwd}(dout, cache)"
        for gname, g, v in zip(grad_names, grads, inputs(case)):
            expect_shape(g, v.shape, gname, where, f"a gradient has the shape of {gname[1:]}")
            expect_finite(g, gname, where)
        dtype = working_dtype(*grads)
        dout = rounded(case["dout"], dtype)
        exp = expected(case, dtype)[1]
        if base == "relu":  # at x == 0 any value between 0 and dout is a valid subgradient
            x, g = rounded(case["x"], dtype), np.asarray(grads[0], dtype=np.float64)
            lo, hi = np.minimum(0.0, dout), np.maximum(0.0, dout)
            exp = [np.where(x == 0, np.clip(g, lo, hi), exp[0])]
        judge(where, grad_names, grads, exp, tolerance_for(dtype),
               "the chain rule (upstream gradient times local gradient)")

    def call(ex: Executor, case: Case, with_backward: bool) -> dict[str, Any]:
        return ex.call("layer", forward=fwd, backward=bwd if with_backward else None,
                       inputs=inputs(case), dout=case["dout"])

    if item == fwd:
        def forward(ex: Executor, case: Case) -> None:
            judge_forward(case, call(ex, case, False)["out"])

        def hygiene_f(ex: Executor, case: Case) -> None:
            res = call(ex, case, False)
            judge_unmodified(fwd, names, inputs(case), res["inputs_after"], "input")

        return [
            Check("forward", cases, forward, "out matches the JAX oracle"),
            Check("hygiene", cases, hygiene_f, "inputs are left unmodified"),
        ]

    def grads_of(res: dict[str, Any]) -> tuple[Any, ...]:
        return as_gradients(res["grads"], grad_names, bwd)

    def backward(ex: Executor, case: Case) -> None:
        judge_backward(case, grads_of(call(ex, case, True)))

    def numerical(ex: Executor, case: Case) -> bool:
        res = call(ex, case, True)
        try:
            judge_forward(case, res["out"])
            grads = grads_of(res)
            for g, v in zip(grads, inputs(case)):
                expect_shape(g, v.shape, "gradient", bwd, "")
            moved = nearby(case, names)
            judge_forward(moved, ex.call("layer_forward", forward=fwd, inputs=inputs(moved)))
        except (CheckFailed, ContractError, StudentError):
            return False

        def f(*ins: Any) -> Any:
            return weighted_sum(ex.call("layer_forward", forward=fwd, inputs=list(ins)),
                             case["dout"])

        judge_numerical(bwd, grad_names, f, inputs(case), grads, case)
        return True

    def hygiene_b(ex: Executor, case: Case) -> None:
        res = call(ex, case, True)
        judge_unmodified(bwd, names, res["inputs_after_forward"], res["inputs_after"],
                         "cached input")
        judge_unmodified(bwd, ["dout"], [case["dout"]], [res["dout_after"]], "upstream gradient")

    return [
        Check("backward", cases, backward, "gradients match jax.vjp with a random upstream"),
        Check("numerical", cases, numerical, "gradients match centred differences"),
        Check("hygiene", cases, hygiene_b, "dout and the cached inputs are left unmodified"),
    ]


