"""The checks every class of chapters 6 and 7 shares: interface, forward, backward against the
oracle, centred differences of the class's own forward (on a budget: a convolution in Python
loops is slow), and hygiene.

What differs between BatchNormalization, Convolution and Pooling is data (:class:`Layer7`):
their cases, their oracle (the one the core's JAX convolution or the batchnorm graph gives),
the shape of their output, the flag their forward is called with, and how the backward's
values are judged (pooling's ties; batchnorm's eps, read from the class's own forward).
Dropout's checks are of their own kind (:mod:`.dropout`): it draws a random mask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify.closeness import Tolerance, scale_of, tolerance_for, working_dtype
from bpverify.contract import ContractError
from bpverify.families.layer_classes.checks.facts import interface_of
from bpverify.families.layer_classes.contract import LAYER_CLASSES
from bpverify.gradcheck import check_gradient
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    ScenarioForward,
    case_seed,
    expect_shape,
    judge,
    judge_numerically,
    judge_unmodified,
    nearby,
    raise_numerical,
    weighted_sum,
)
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError

__all__ = ["BUDGET", "INTERFACE", "Layer7", "finite", "interface_check", "layer7_checks", "run"]

#: Forward evaluations one example's numerical check may take (a correct gradient needs a
#: handful along random directions; a wrong one is located within the budget, or left to the
#: backward check, which compares every element with the oracle).
BUDGET = 60
INTERFACE = "the class does not have the book's interface (see the interface check)"

#: (out, [dx], {"dW": ..., ...}) for a case in a working precision.
Oracle = Callable[[Case, "np.dtype[Any]", Any], tuple[Any, list[Any], dict[str, Any]]]


def finite(value: Any, name: str, where: str) -> None:
    """Every element is a number: the layers of chapter 7 take small inputs (|x| <= 3), so
    a nan or inf here is no overflow but a division by zero or memory never written."""
    a = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if a.ndim else ()
        raise CheckFailed(
            "not-finite",
            f"{where} returned {name} containing {'nan' if np.isnan(a[idx]) else 'inf'} at "
            f"index {idx} ({int(bad.sum())} of {a.size} elements are not finite) for inputs "
            "no larger than 3: a division by zero (0 / 0 is nan) or an array never filled "
            "(np.empty)?", facts=Facts(where=where, value=name))


def run(ex: Executor, name: str, case: Case, steps: list[dict[str, Any]]) -> list[Any]:
    """The replies of one instance built from the case, called ``steps`` in turn."""
    spec = LAYER_CLASSES[name]
    return list(ex.call("layer_class_run", name=name, init=[case[n] for n in spec.init],
                        steps=steps))


def interface_check(name: str) -> Check:
    def interface(ex: Executor, _: Any) -> None:
        found = interface_of(ex, name)
        if found["problem"]:
            raise CheckFailed(found["kind"], found["problem"], facts=Facts(
                where=f"class {name}", value=found["method"], got_name=found["found"],
                expected_name=found["expected"],
                only_none=found["kind"] == "unwritten"))  # a stub: "not implemented"

    return Check("interface", st.just(None), interface,
                 f"{name} has forward and backward with the book's signatures")


@dataclass(frozen=True)
class Layer7:
    """One class of chapter 7 as data: what the generic checks need to know of it."""

    name: str
    cases: Callable[[], st.SearchStrategy[Case]]
    #: (out, [dx], {param gradients}) for (case, dtype, the submission's forward output).
    oracle: Oracle
    out_shape: Callable[[Case], tuple[int, ...]]
    shape_hint: str
    flag: bool | None = None  #: train_flg passed to forward (None: none is passed)
    #: The example is judged here only if this holds (pooling sets ties aside).
    usable_case: Callable[[Case], bool] = field(default=lambda case: True)
    #: (case, dtype, got dx, expected dx) -> the dx to judge against (pooling's ties).
    adjust_dx: Callable[[Case, Any, Any, Any], Any] | None = None
    grad_words: str = "the chain rule (upstream gradient times local gradient)"
    #: (case, tolerance) -> the tolerance backward is judged with (batchnorm's eps slack).
    widen: Callable[[Case, Tolerance], Tolerance] | None = None

    def steps(self, case: Case, backward: bool = True) -> list[dict[str, Any]]:
        fwd: dict[str, Any] = {"forward": [case["x"]]}
        if self.flag is not None:
            fwd["flag"] = self.flag
        return [fwd, {"backward": case["dout"]}] if backward else [fwd]

    @property
    def where_forward(self) -> str:
        return f"{self.name}.forward(x{', train_flg=True' if self.flag else ''})"

    def judge_forward(self, case: Case, out: Any) -> None:
        where = self.where_forward
        if out is None:
            raise CheckFailed("bad-return", f"{where} returned None; expected out. Did you "
                              "forget a return statement?",
                              facts=Facts(where=where, value="out", returned_none=True))
        expect_shape(out, self.out_shape(case), "out", where, self.shape_hint)
        finite(out, "out", where)
        dtype = working_dtype(out)
        judge(where, ["out"], [out], [self.oracle(case, dtype, out)[0]], tolerance_for(dtype),
              "the oracle's value")

    def judge_backward(self, case: Case, out: Any, raw: Any, params: dict[str, Any]) -> None:
        spec = LAYER_CLASSES[self.name]
        where = f"{self.name}.backward(dout)"
        if raw is None:
            raise CheckFailed("bad-return", f"{where} returned None; expected dx",
                              facts=Facts(where=where, value="dx", returned_none=True))
        if isinstance(raw, (tuple, list)) and len(raw) == 1:
            raw = raw[0]
        expect_shape(raw, np.shape(case["x"]), "dx", where, "the shape of x, the input")
        finite(raw, "dx", where)
        got = [raw]
        for p in spec.params:
            value = params.get(p)
            if value is None:
                raise CheckFailed("bad-return", f"after {where}, self.{p} is missing; the "
                                  f"book's {self.name} keeps {' and '.join(spec.params)} on "
                                  "the instance for the optimizer to read",
                                  facts=Facts(where=where, value=p))
            source = spec.init[spec.params.index(p)]
            expect_shape(value, np.shape(case[source]), p, where, f"the shape of {source}")
            finite(value, p, where)
            got.append(value)
        dtype = working_dtype(*got)
        _, exp, exp_params = self.oracle(case, dtype, out)
        expected = [exp[0], *(exp_params[p] for p in spec.params)]
        if self.adjust_dx is not None:
            expected[0] = self.adjust_dx(case, dtype, got[0], expected[0])
        tol = tolerance_for(dtype)
        if self.widen is not None:
            tol = self.widen(case, tol)
        judge(where, ["dx", *spec.params], got, expected, tol, self.grad_words)

    # --- the checks ----------------------------------------------------------------------

    def usable(self, ex: Executor) -> bool:
        return not interface_of(ex, self.name)["problem"]

    def forward(self, ex: Executor, case: Case) -> bool:
        if not self.usable(ex):
            return False
        self.judge_forward(case, run(ex, self.name, case, self.steps(case, False))[0]["out"])
        return True

    def backward(self, ex: Executor, case: Case) -> bool:
        if not self.usable(ex) or not self.usable_case(case):
            return False
        fwd, bwd = run(ex, self.name, case, self.steps(case))
        self.judge_backward(case, fwd["out"], bwd["grads"], bwd["params"])
        return True

    def numerical(self, ex: Executor, case: Case) -> bool:
        if not self.usable(ex) or not self.usable_case(case):
            return False
        spec = LAYER_CLASSES[self.name]
        wrt = ["x", *(spec.init[spec.params.index(p)] for p in spec.params)]
        name, flag = self.name, self.flag

        def claimed() -> list[Any]:
            fwd, bwd = run(ex, name, case, self.steps(case))
            self.judge_forward(case, fwd["out"])
            moved = nearby(case, wrt)
            self.judge_forward(moved, run(ex, name, moved, self.steps(moved, False))[0]["out"])
            raw = bwd["grads"]
            if isinstance(raw, (tuple, list)) and len(raw) == 1:
                raw = raw[0]
            grads = [raw, *(bwd["params"].get(p) for p in spec.params)]
            for g, n in zip(grads, wrt):
                expect_shape(g, np.shape(case[n]), "gradient", name, "")
                finite(g, "gradient", name)
            return grads

        def kwargs(*vals: Any) -> dict[str, Any]:
            given = dict(zip(wrt, vals))
            init = [given[n] if n in given else case[n] for n in spec.init]
            return {"name": name, "init": init, "inputs": [vals[0]], "flag": flag}

        f = ScenarioForward(ex, "layer_class_forward", kwargs,
                            lambda out: weighted_sum(out, case["dout"]))
        names, args = ["dx", *spec.params], [case[n] for n in wrt]
        if self.widen is None:
            return judge_numerically(f"{name}.backward", names, case, claimed=claimed, f=f,
                                     args=args, max_evaluations=BUDGET)
        try:
            grads = claimed()
        except (CheckFailed, ContractError, StudentError):
            return False
        self._judge_widened(case, names, f, args, grads)
        return True

    def _judge_widened(self, case: Case, names: list[str], f: ScenarioForward,
                       args: list[Any], grads: list[Any]) -> None:
        """judge_numerical with the tolerance backward is judged with (batchnorm's eps)."""
        dtype = working_dtype(*grads)
        result = check_gradient(f, args, grads, seed=case_seed(case),
                                precision=None if dtype == np.float64 else str(dtype),
                                f_many=f.many, max_evaluations=BUDGET)
        assert self.widen is not None
        tol = self.widen(case, tolerance_for(dtype))
        scale = max((scale_of(g) for g in grads), default=0.0)
        real = [m for m in result.mismatches
                if not tol.allows(abs(m.got - m.expected), m.expected, scale)]
        if real:
            raise_numerical(f"{self.name}.backward", names,
                            dataclasses.replace(result, mismatches=tuple(real)))

    def hygiene(self, ex: Executor, case: Case) -> bool:
        if not self.usable(ex):
            return False
        fwd, bwd = run(ex, self.name, case, self.steps(case))
        judge_unmodified(f"{self.name}.forward", ["x"], [case["x"]], fwd["inputs_after"],
                         "input")
        judge_unmodified(f"{self.name}.backward", ["dout"], [case["dout"]],
                         [bwd["dout_after"]], "upstream gradient")
        return True

    def checks(self) -> list[Check]:
        cases = self.cases()
        unjudged = f"{INTERFACE}, or forward is wrong on every example (see the forward check)"
        return [
            interface_check(self.name),
            Check("forward", cases, self.forward, "forward matches the JAX oracle",
                  unjudged=INTERFACE),
            Check("backward", cases, self.backward,
                  "backward matches jax.vjp with a random upstream gradient",
                  unjudged=INTERFACE),
            Check("numerical", cases, self.numerical,
                  "backward matches centred differences of forward", unjudged=unjudged),
            Check("hygiene", cases, self.hygiene, "x and dout are left unmodified",
                  unjudged=INTERFACE),
        ]


def layer7_checks(layer: Layer7) -> list[Check]:
    return layer.checks()
