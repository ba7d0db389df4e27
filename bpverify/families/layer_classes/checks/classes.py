"""One layer class of the book (MulLayer, AddLayer, Relu, Sigmoid, Affine, SoftmaxWithLoss).

Every check first asks whether the class has the book's interface, so that a misspelled method
or another course's signature fails one check ("interface") with an explanation instead of
every check with a TypeError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify import strategies
from bpverify.contract import ContractError, as_gradients
from bpverify.families.layer_classes.checks.book import book_dx_shift, judge_loss_value
from bpverify.families.layer_classes.checks.facts import (
    cached_mask,
    ignored_input,
    interface_of,
)
from bpverify.families.layer_classes.contract import LAYER_CLASSES
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
from bpverify.grading.checks.gatework import STABLE_FROM
from bpverify.grading.compare import tolerance_for, working_dtype
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError

__all__ = ["layer_class_checks"]

_GATE_ORACLE = {"MulLayer": "MultiplyGate", "AddLayer": "AddGate", "Sigmoid": "SigmoidGate"}
_INTERFACE = "the class does not have the book's interface (see the interface check)"


# --- cases -----------------------------------------------------------------------------------


def _upstream(shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
    # Never +-1, so that "forgot to multiply by dout" shows (see bpverify.strategies).
    mag = st.sampled_from([2.0, 0.5, 1.5, 3.0, 0.75, 2.5])
    el = st.tuples(st.sampled_from([1.0, -1.0]), mag).map(lambda t: t[0] * t[1])
    return hnp.arrays(np.float64, shape, elements=el)


@st.composite
def _affine_case(draw: st.DrawFn, nd: bool) -> Case:
    n = draw(st.integers(1, 4))
    rest = (draw(hnp.array_shapes(min_dims=2, max_dims=3, max_side=3)) if nd
            else (draw(st.integers(1, 5)),))
    d = int(np.prod(rest))
    m = d if draw(st.booleans()) else draw(st.integers(1, 5))
    return {"x": draw(strategies.values((n, *rest))), "W": draw(strategies.values((d, m))),
            "b": draw(strategies.values((m,))), "dout": draw(_upstream((n, m)))}


@st.composite
def _softmax_case(draw: st.DrawFn, one_hot: bool, large: bool) -> Case:
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    hi = 1000.0 if large else 8.0
    x = draw(strategies.values((n, c), lo=-hi, hi=hi))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    t = np.eye(c)[y] if one_hot else y
    return {"x": x, "t": t, "y": y}


def _cases(name: str, *, large: bool = False) -> st.SearchStrategy[Case]:
    if name == "MulLayer":
        return strategies.gate_cases("MultiplyGate")
    if name == "AddLayer":
        return strategies.gate_cases("AddGate")
    if name == "Sigmoid":  # a layer of a net: arrays, never a bare float (x[mask] must work)
        return strategies.gate_cases("SigmoidGate", large=large, smallest=STABLE_FROM).map(
            lambda c: {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in c.items()})
    if name == "Relu":
        return strategies.relu_cases()
    if name == "Affine":
        return _affine_case(large)  # "large" here means N-D input
    return _softmax_case(True, large)


def _labels(case: Case) -> Any:
    return case["y"]



def _oracle(name: str, case: Case, dtype: np.dtype[Any]) -> tuple[Any, list[Any], dict[str, Any]]:
    """(out, [returned gradients], {instance gradients}) for the case, in float64."""
    r = lambda v: rounded(v, dtype)  # noqa: E731
    if name in _GATE_ORACLE:
        spec = LAYER_CLASSES[name]
        out, grads = oracles.gate(_GATE_ORACLE[name], [r(case[n]) for n in spec.inputs], None,
                                  r(case["dout"]))
        return out, list(grads), {}
    if name == "Relu":
        out, grads = oracles.relu(r(case["x"]), r(case["dout"]))
        return out, grads, {}
    if name == "Affine":
        out, (dx, dw, db) = oracles.affine(r(case["x"]), r(case["W"]), r(case["b"]),
                                           r(case["dout"]))
        return out, [dx], {"dW": dw, "db": db}
    value, dx = oracles.loss("softmax_loss", r(case["x"]), _labels(case))
    return value, [dx], {}


def layer_class_checks(name: str) -> list[Check]:
    spec = LAYER_CLASSES[name]
    last = spec.last
    cases = _cases(name)
    data = [n for n in spec.inputs if n != "t"]  #: what the gradients are taken with respect to

    def init(case: Case) -> list[Any]:
        return [case[n] for n in spec.init]

    def inputs(case: Case) -> list[Any]:
        return [case[n] for n in spec.inputs]

    def usable(ex: Executor) -> bool:
        return not interface_of(ex, name)["problem"]

    def call(ex: Executor, case: Case) -> dict[str, Any]:
        return ex.call("layer_class", name=name, init=init(case), inputs=inputs(case),
                       dout=None if last else case["dout"])

    def forward_of(ex: Executor, case: Case) -> Any:
        return ex.call("layer_class_forward", name=name, init=init(case), inputs=inputs(case))

    def judge_forward(case: Case, out: Any) -> float:
        where = f"{name}.forward({', '.join(spec.inputs)})"
        if out is None:
            raise CheckFailed("bad-return", f"{where} returned None; expected out. Did you "
                              "forget a return statement?",
                              facts=Facts(where=where, value="out", returned_none=True))
        if isinstance(out, (tuple, list)):
            raise CheckFailed("interface", f"interface differs: {where} returned a "
                              f"{type(out).__name__} of {len(out)}; the book's forward returns "
                              "out alone and keeps what backward needs on self")
        if last:
            return judge_loss_value(where, out, case["x"], _labels(case))
        x = case["x"]
        shape = (x.shape[0], case["W"].shape[1]) if name == "Affine" else np.shape(x)
        hint = ("(N, M): x is reshaped to (N, -1) first" if name == "Affine"
                else "the shape of x")
        expect_shape(out, shape, "out", where, hint)
        dtype = working_dtype(out)
        judge(where, ["out"], [out], [_oracle(name, case, dtype)[0]], tolerance_for(dtype),
              "the oracle's value")
        return False

    def judge_backward(case: Case, raw: Any, params: dict[str, Any], label: str = "") -> None:
        where = f"{name}.backward({'' if last else 'dout'}){label}"
        grads = list(as_gradients(raw, spec.grads, where))
        shapes = [np.shape(case[n]) for n in spec.inputs]
        for gname, g, shape in zip(spec.grads, grads, shapes):
            expect_shape(g, shape, gname, where, f"the shape of {gname[1:]}, the input")
            expect_finite(g, gname, where)
        got_params = []
        for p in spec.params:
            value = params.get(p)
            if value is None:
                raise CheckFailed("bad-return", f"after {where}, self.{p} is missing; the "
                                  f"book's {name} keeps {' and '.join(spec.params)} on the "
                                  "instance for the optimizer to read")
            source = spec.init[spec.params.index(p)]
            expect_shape(value, np.shape(case[source]), p, where, f"the shape of {source}")
            expect_finite(value, p, where)
            got_params.append(value)
        dtype = working_dtype(*grads, *got_params)
        _, exp, exp_params = _oracle(name, case, dtype)
        if name == "Relu":  # at x == 0 any value between 0 and dout is a valid subgradient
            x, g = rounded(case["x"], dtype), np.asarray(grads[0], dtype=np.float64)
            d = rounded(case["dout"], dtype)
            exp = [np.where(x == 0, np.clip(g, np.minimum(0.0, d), np.maximum(0.0, d)),
                            exp[0])]
        names = [*spec.grads, *spec.params]
        judge(where, names, [*grads, *got_params], [*exp, *(exp_params[p] for p in spec.params)],
              tolerance_for(dtype), "the chain rule (upstream gradient times local gradient)"
              if not last else "(softmax(x) - t) / N, the gradient of the mean loss")

    def interface(ex: Executor, _: Any) -> None:
        found = interface_of(ex, name)
        if found["problem"]:
            raise CheckFailed(found["kind"], found["problem"], facts=Facts(
                where=f"class {name}", value=found["method"], got_name=found["found"],
                expected_name=found["expected"],
                only_none=found["kind"] == "unwritten"))  # a stub: "not implemented"

    def forward(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        judge_forward(case, forward_of(ex, case))
        return True

    def backward(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        res = call(ex, case)
        try:
            judge_backward(case, res["grads"], res["params"])
        except CheckFailed as exc:
            raise (ignored_input(ex, name, case, exc) or cached_mask(name, res, exc)
                   or exc) from None
        return True

    def numerical(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        res = call(ex, case)
        try:
            book = judge_forward(case, res["out"])
            grads = list(as_gradients(res["grads"], spec.grads, name))
            grads += [res["params"].get(p) for p in spec.params]
            wrt = [*data, *spec.init]
            for g, n in zip(grads, wrt):
                expect_shape(g, np.shape(case[n]), "gradient", name, "")
            moved = nearby(case, wrt)
            judge_forward(moved, forward_of(ex, moved))
        except (CheckFailed, ContractError, StudentError):
            return False
        if book:  # its forward adds δ inside the log: so does the gradient judged
            grads[0] = np.asarray(grads[0], dtype=np.float64) + book_dx_shift(case["x"],
                                                                               case["y"], book)
        k = len(data)

        def f(*vals: Any) -> Any:
            out = ex.call("layer_class_forward", name=name, init=list(vals[k:]),
                          inputs=[*vals[:k], *([case["t"]] if last else [])])
            return out if last else weighted_sum(out, case["dout"])

        judge_numerical(f"{name}.backward", [*spec.grads, *spec.params], f,
                        [case[n] for n in (*data, *spec.init)], grads, case)
        return True

    def hygiene(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        res = call(ex, case)
        judge_unmodified(f"{name}.forward", list(spec.inputs), inputs(case),
                         res["inputs_after_forward"], "input")
        judge_unmodified(f"{name}.backward", list(spec.inputs), inputs(case),
                         res["inputs_after"], "cached input")
        if not last:
            try:
                judge_unmodified(f"{name}.backward", ["dout"], [case["dout"]],
                                 [res["dout_after"]], "upstream gradient")
            except CheckFailed as exc:
                if name != "Relu":
                    raise
                raise CheckFailed(
                    exc.kind, exc.message + " (The book's own Relu does this with "
                    "dout[self.mask] = 0; this rubric reports it without taking points.)",
                    expected=exc.expected, got=exc.got) from None
        return True

    def instances(ex: Executor, pair: tuple[Case, Case]) -> bool:
        if not usable(ex):
            return False
        a, b = pair
        res = ex.call("layer_class_pair", name=name, init_a=init(a), init_b=init(b),
                      inputs_a=inputs(a), inputs_b=inputs(b),
                      dout_a=None if last else a["dout"], dout_b=None if last else b["dout"])
        for label, case, raw, params in (("first", a, res["grads_a"], res["params_a"]),
                                         ("second", b, res["grads_b"], res["params_b"])):
            try:
                judge_backward(case, raw, params, f" ({label} instance)")
            except CheckFailed as exc:
                try:  # wrong even alone? then the backward check reports it, not this one
                    alone = call(ex, case)
                    judge_backward(case, alone["grads"], alone["params"])
                except (CheckFailed, ContractError):
                    return False
                raise CheckFailed(
                    "shared-state",
                    f"two {name} instances were forwarded before either ran backward, and the "
                    f"{label} one returned the wrong gradient: {exc.message}. Keep what "
                    "backward needs on self (the instance), never on the class or in globals.",
                    expected=exc.expected, got=exc.got, mismatches=exc.mismatches,
                    count=exc.count,
                ) from None
        return True

    def stability(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        res = call(ex, case)
        if not last:
            expect_finite(res["out"], "its output", f"{name}.forward")
        judge_forward(case, res["out"])
        try:
            judge_backward(case, res["grads"], res["params"])
        except CheckFailed as exc:
            raise cached_mask(name, res, exc) or exc from None
        return True

    def extension(form: str) -> Callable[[Executor, Case], bool]:
        """A check of a form of input beyond chapter 5's, judged where the class handles it."""

        def run(ex: Executor, case: Case) -> bool:
            if not usable(ex) or not ex.call("layer_class_handles", name=name, form=form):
                return False
            return stability(ex, case)

        return run

    unjudged = f"{_INTERFACE}, or forward is wrong on every example (see the forward check)"
    checks = [
        Check("interface", st.just(None), interface,
              f"{name} has forward and backward with the book's signatures"),
        Check("forward", cases, forward, "forward matches the JAX oracle", unjudged=_INTERFACE),
        Check("backward", cases, backward,
              "backward matches jax.vjp" + (" at dout = 1" if last else
                                            " with a random upstream gradient"),
              unjudged=_INTERFACE),
        Check("numerical", cases, numerical, "backward matches centred differences of forward",
              unjudged=unjudged),
        Check("hygiene", cases, hygiene, "inputs and dout are left unmodified",
              unjudged=_INTERFACE),
        Check("instances", st.tuples(cases, cases), instances,
              "two instances keep their own caches",
              unjudged=f"{_INTERFACE}, or backward is wrong even for a single instance"),
    ]
    if name == "Affine":
        checks.append(Check("nd input", _affine_case(True), extension("nd input"),
                            "x of shape (N, d1, d2, ...) is reshaped to (N, -1); dx comes back "
                            "in x's shape",
                            unjudged=f"{_INTERFACE}, or this Affine takes 2-D input only "
                            "(chapter 5's: forward does not reshape x; N-D input comes with "
                            "chapter 7's convolutions)"))
    if name in ("Sigmoid", "SoftmaxWithLoss"):
        checks.append(Check("stability", _cases(name, large=True), stability,
                            "finite and right for inputs up to 1000", unjudged=_INTERFACE))
    if last:
        checks.append(Check("integer labels", _softmax_case(False, False),
                            extension("integer labels"),
                            "t given as integer labels (N,) instead of one-hot (N, C)",
                            unjudged=f"{_INTERFACE}, or this SoftmaxWithLoss takes one-hot "
                            "labels only (chapter 5's: backward computes (y - t) / N)"))
    return checks

