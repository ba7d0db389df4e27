"""The checks of CS231n's naive convolution and max-pooling layers.

What differs between the two layers is data (:class:`ConvSpec`); the checks are one set of
named steps over a spec, like CS231n's affine and ReLU layers
(``bpverify/families/cs231n_layers/checks/layers.py``),
with the layer's parameter dict (``conv_param``, ``pool_param``) handed over as the last input.

The subgradient rule of max pooling: where a window holds several equal maxima, its dout may
be split among them in any shares from 0 to 1 that add up to 1 (all to one of them, as
``np.argmax`` does, or equal parts); non-maxima get nothing.  Giving the *full* dout to each of
k tied maxima is not a gradient: moving the whole window up by t moves its max by t, not by
k t.  Only the ``ties`` check judges ties (it draws them on purpose, in non-overlapping
windows; the course's own gradient check never meets one): the backward check sets aside an
example with a tie, so that a rubric can weigh ties on their own (the cs231n rubric makes them
advice).  Overlapping windows (a stride below the window's side) are the ``overlap`` check's
alone, for the same reason: the course's pools never overlap, and a backward that assigns
``dx[...] = dout`` where ``+=`` belongs is right until they do.  The numerical check sets ties
aside too: a tie is a kink, judged by one-sided slopes that a full dout to each tied maximum
does not break (only the ties check sees that), and localising kinks costs tens of forward
calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import as_gradients
from bpverify.families.convolution import maths
from bpverify.families.convolution.checks.cases import conv_cases, pool_cases
from bpverify.families.convolution.checks.numerical import judge_on_budget
from bpverify.grading import conv_oracles as oracle
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    ScenarioForward,
    expect_finite,
    expect_shape,
    judge,
    judge_unmodified,
    nearby,
    rounded,
    weighted_sum,
)
from bpverify.submission import Executor, StudentError
from bpverify.submission.replies import LayerReply

__all__ = ["LAYERS", "ConvSpec", "layer_checks", "tie_projection"]


def _conv_shape(case: Case) -> tuple[int, ...]:
    n, _, h, w = case["x"].shape
    f, _, hh, ww = case["w"].shape
    s, p = case["conv_param"]["stride"], case["conv_param"]["pad"]
    return (n, f, maths.conv_out_size(h, hh, s, p), maths.conv_out_size(w, ww, s, p))


def _pool_shape(case: Case) -> tuple[int, ...]:
    n, c, h, w = case["x"].shape
    ph, pw, s = maths.pool_dims(case["pool_param"])
    return (n, c, 1 + (h - ph) // s, 1 + (w - pw) // s)


def window_ties(x: Any, pool_param: dict[str, Any]) -> bool:
    """Some pooling window of ``x`` holds two equal maxima."""
    xa = np.asarray(x)
    for _, _, rows, cols in maths.pool_windows(xa.shape, pool_param):
        win = xa[:, :, rows, cols].reshape(xa.shape[0], xa.shape[1], -1)
        if ((win == win.max(axis=2, keepdims=True)).sum(axis=2) > 1).any():
            return True
    return False


def tie_projection(x: Any, pool_param: dict[str, Any], dout: Any, got: Any,
                   expected: Any) -> np.ndarray:
    """``expected`` with each tied window's part replaced by the submission's, where that is a
    valid split of the window's dout (non-overlapping windows; see the module docstring)."""
    xa, d = np.asarray(x), np.asarray(dout, dtype=np.float64)
    g, out = np.asarray(got, dtype=np.float64), np.array(expected, dtype=np.float64)
    tol = 1e-6 * max(1.0, float(np.max(np.abs(d), initial=0.0)))
    for i, j, rows, cols in maths.pool_windows(xa.shape, pool_param):
        for n in range(xa.shape[0]):
            for c in range(xa.shape[1]):
                win = xa[n, c, rows, cols]
                top = win == win.max()
                if top.sum() < 2:
                    continue
                part, up = g[n, c, rows, cols], d[n, c, i, j]
                lo, hi = min(0.0, up) - tol, max(0.0, up) + tol
                if (np.all(np.abs(part[~top]) <= tol) and np.all((part[top] >= lo)
                                                                  & (part[top] <= hi))
                        and abs(part[top].sum() - up) <= tol):
                    out[n, c, rows, cols] = np.where(top, part, 0.0)
    return out


@dataclass(frozen=True)
class ConvSpec:
    """One layer: its functions' base name, array inputs, parameter dict, oracle and shapes."""

    base: str  #: "conv": conv_forward_naive and conv_backward_naive
    inputs: tuple[str, ...]  #: the arrays, e.g. ("x", "w", "b")
    param: str  #: the dict passed last, e.g. "conv_param"
    cases: Callable[[], st.SearchStrategy[Case]]
    oracle: Callable[..., tuple[Any, list[Any]]]
    out_shape: Callable[[Case], tuple[int, ...]]
    shape_hint: str

    @property
    def grads(self) -> list[str]:
        return ["d" + n for n in self.inputs]


LAYERS: dict[str, ConvSpec] = {
    s.base: s
    for s in (
        ConvSpec("conv", ("x", "w", "b"), "conv_param", conv_cases, oracle.conv, _conv_shape,
                 "(N, F, 1 + (H + 2 pad - HH) / stride, 1 + (W + 2 pad - WW) / stride)"),
        ConvSpec("max_pool", ("x",), "pool_param", pool_cases, oracle.pool, _pool_shape,
                 "(N, C, 1 + (H - pool_height) / stride, 1 + (W - pool_width) / stride)"),
    )
}


class ConvChecks:
    """The checks of one layer's forward or backward function, as named steps over its spec."""

    def __init__(self, spec: ConvSpec) -> None:
        self.spec = spec
        self.fwd, self.bwd = f"{spec.base}_forward_naive", f"{spec.base}_backward_naive"
        self.pooling = spec.base == "max_pool"

    def inputs(self, case: Case) -> list[Any]:
        return [case[n] for n in self.spec.inputs]

    def call_inputs(self, case: Case) -> list[Any]:
        """The arrays, then a fresh copy of the parameter dict (a submission may change it)."""
        return [*self.inputs(case), dict(case[self.spec.param])]

    def expected(self, case: Case, dtype: np.dtype[Any]) -> tuple[Any, list[Any]]:
        arrays = [rounded(v, dtype) for v in self.inputs(case)]
        return self.spec.oracle(*arrays, case[self.spec.param], rounded(case["dout"], dtype))

    def judge_forward(self, case: Case, out: Any) -> None:
        where = f"{self.fwd}({', '.join(self.spec.inputs)}, {self.spec.param})"
        expect_shape(out, self.spec.out_shape(case), "out", where, self.spec.shape_hint,
                     named=True)  # out of (out, cache): None is the starter's placeholder
        dtype = working_dtype(out)
        judge(where, ["out"], [out], [self.expected(case, dtype)[0]], tolerance_for(dtype),
              "the oracle's value")

    def judge_backward(self, case: Case, grads: Sequence[Any], ties: bool = False) -> None:
        where = f"{self.bwd}(dout, cache)"
        for gname, g, v in zip(self.spec.grads, grads, self.inputs(case)):
            expect_shape(g, v.shape, gname, where, f"a gradient has the shape of {gname[1:]}")
            expect_finite(g, gname, where)
        dtype = working_dtype(*grads)
        exp = list(self.expected(case, dtype)[1])
        if self.pooling:
            x = rounded(case["x"], dtype)
            if window_ties(x, case["pool_param"]):
                # Ties are the ties check's (weighted on its own): elsewhere they are set aside.
                assume(ties and not maths.overlapping(case["pool_param"]))
                exp[0] = tie_projection(x, case["pool_param"], rounded(case["dout"], dtype),
                                        grads[0], exp[0])
        judge(where, self.spec.grads, grads, exp, tolerance_for(dtype),
              "the chain rule (upstream gradient times local gradient)")

    def call(self, ex: Executor, case: Case, with_backward: bool) -> LayerReply:
        return ex.call("layer", forward=self.fwd, backward=self.bwd if with_backward else None,
                       inputs=self.call_inputs(case), dout=case["dout"])

    def grads_of(self, res: LayerReply) -> tuple[Any, ...]:
        return as_gradients(res["grads"], self.spec.grads, self.bwd)

    # --- the checks -----------------------------------------------------------------------

    def forward(self, ex: Executor, case: Case) -> None:
        self.judge_forward(case, self.call(ex, case, False)["out"])

    def forward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, False)
        judge_unmodified(self.fwd, self.spec.inputs, self.inputs(case),
                         res["inputs_after"][:len(self.spec.inputs)], "input")

    def backward(self, ex: Executor, case: Case) -> None:
        self.judge_backward(case, self.grads_of(self.call(ex, case, True)))

    def ties(self, ex: Executor, case: Case) -> None:
        self.judge_backward(case, self.grads_of(self.call(ex, case, True)), ties=True)

    def overlap(self, ex: Executor, case: Case) -> None:
        self.judge_backward(case, self.grads_of(self.call(ex, case, True)))

    def numerical(self, ex: Executor, case: Case) -> bool:
        # A tie is a kink, which the gradient check would localise element by element (tens of
        # forward calls); ties are the ties check's, so this check sets them aside.
        assume(not (self.pooling and window_ties(case["x"], case["pool_param"])))
        res = self.call(ex, case, True)
        try:
            self.judge_forward(case, res["out"])
            grads = self.grads_of(res)
            for g, v in zip(grads, self.inputs(case)):
                expect_shape(g, v.shape, "gradient", self.bwd, "")
            moved = nearby(case, self.spec.inputs)
            self.judge_forward(moved, ex.call("layer_forward", forward=self.fwd,
                                              inputs=self.call_inputs(moved)))
        except (CheckFailed, StudentError):
            return False  # the forward and backward checks report it
        fwd, param = self.fwd, dict(case[self.spec.param])
        f = ScenarioForward(ex, "layer_forward",
                            lambda *ins: {"forward": fwd, "inputs": [*ins, dict(param)]},
                            lambda out: weighted_sum(out, case["dout"]))
        judge_on_budget(self.bwd, self.spec.grads, f, self.inputs(case), list(grads), case)
        return True

    def backward_hygiene(self, ex: Executor, case: Case) -> None:
        res = self.call(ex, case, True)
        k = len(self.spec.inputs)
        judge_unmodified(self.bwd, self.spec.inputs, res["inputs_after_forward"][:k],
                         res["inputs_after"][:k], "cached input")
        judge_unmodified(self.bwd, ["dout"], [case["dout"]], [res["dout_after"]],
                         "upstream gradient")

    def checks(self, item: str) -> list[Check]:
        cases = self.spec.cases()
        if item == self.fwd:
            return [
                Check("forward", cases, self.forward, "out matches the JAX oracle"),
                Check("hygiene", cases, self.forward_hygiene, "inputs are left unmodified"),
            ]
        checks = [
            Check("backward", cases, self.backward,
                  "gradients match jax.vjp with a random upstream"),
            Check("numerical", cases, self.numerical,
                  "gradients match centred differences of your own forward"),
            Check("hygiene", cases, self.backward_hygiene,
                  "dout and the cached inputs are left unmodified"),
        ]
        if self.pooling:
            checks.insert(1, Check("ties", pool_cases(ties=True), self.ties,
                                   "at equal maxima in a window, dout is split among them "
                                   "(all to one, or shares adding up to dout)"))
            checks.insert(2, Check("overlap", pool_cases(overlap=True), self.overlap,
                                   "with overlapping windows, an element that is the max of "
                                   "several windows gets the sum of their dout"))
        return checks


def layer_checks(item: str) -> list[Check]:
    """The checks of ``item``: a layer's forward (``conv_forward_naive``) or its backward."""
    base = "max_pool" if item.startswith("max_pool") else "conv"
    return ConvChecks(LAYERS[base]).checks(item)
