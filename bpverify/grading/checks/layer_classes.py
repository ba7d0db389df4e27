"""Layer classes of "Deep Learning from Scratch", and the book's two-layer net built from them.

The book's conventions are judged as the book means them: ``Affine(W, b)`` flattens N-D input
and returns ``dx`` in the input's shape, keeping ``dW`` and ``db`` on the instance;
``SoftmaxWithLoss`` takes one-hot (or integer) labels, averages over the batch and is judged at
``dout = 1``; its ``cross_entropy_error`` may add 1e-7 inside the log, which is accepted (and
allowed for in the numerical check).  Every check first asks whether the class has the book's
interface, so that a misspelled method or another course's signature fails one check
("interface") with an explanation instead of every check with a TypeError.

Failures carry what they established as facts for the diagnoses (feedback/layer_classes.py):
the interface check's kind says what differs (``misspelled-method``, ``nested-method``,
``method-outside-class``, ``missing-method``, ``interface``) with the names found and expected;
a call that raised keeps the names involved (``self.w`` read where ``self.W`` was stored, an
undefined ``np``); a wrong MulLayer gradient that does not move when its input does is
``ignores-input``; a wrong Sigmoid that cached only a 0/1 mask is ``caches-mask``; and a failure
of the net names the guilty call ("Affine2.backward") and the value it got wrong.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify import strategies
from bpverify.contract import ContractError, as_gradients, check_numeric
from bpverify.contract.layer_classes import LAYER_CLASSES, NET_LAYERS
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
from bpverify.grading.compare import compare_values, tolerance_for, working_dtype
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError

__all__ = ["layer_class_checks", "layer_net_checks"]

#: What the book's cross_entropy_error adds inside the log to keep it finite.
BOOK_DELTA = 1e-7

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
    if name == "Sigmoid":
        return strategies.gate_cases("SigmoidGate", large=large)
    if name == "Relu":
        return strategies.relu_cases()
    if name == "Affine":
        return _affine_case(large)  # "large" here means N-D input
    return _softmax_case(True, large)


# --- the book's softmax-with-loss, exact and with its 1e-7 -----------------------------------


def _probs(x: Any) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def book_loss(x: Any, y: Any) -> float:
    """The mean of -log(p_t + 1e-7), as the book's cross_entropy_error computes it."""
    p = _probs(x)
    rows = np.arange(p.shape[0])
    return float(-np.mean(np.log(p[rows, y] + BOOK_DELTA)))


def book_dx_shift(x: Any, y: Any) -> np.ndarray:
    """d(book loss)/dx - d(exact loss)/dx: the 1e-7 rescales each row's gradient."""
    p = _probs(x)
    rows = np.arange(p.shape[0])
    pt = p[rows, y]
    factor = pt / (pt + BOOK_DELTA) - 1.0
    g = p.copy()
    g[rows, y] -= 1.0
    return np.asarray(factor[:, None] * g / p.shape[0])


def _close(got: Any, expected: Any) -> bool:
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if g.shape != np.shape(expected):
        return False
    return compare_values("v", g, expected, tolerance_for(working_dtype(got)))[1] == 0


def _labels(case: Case) -> Any:
    return case["y"]


def judge_loss_value(where: str, value: Any, x: Any, y: Any) -> bool:
    """Judge a softmax-with-loss value; True when it is the book's (with 1e-7) variant."""
    check_numeric(value, f"{where} (loss)")
    if np.size(value) != 1:
        raise CheckFailed("wrong-shape", f"{where} returned a loss of shape {np.shape(value)}; "
                          "expected a scalar, the mean over the batch")
    expect_finite(value, "loss", where)
    dtype = working_dtype(value)
    exact, _ = oracles.loss("softmax_loss", rounded(x, dtype), y)
    got = np.squeeze(np.asarray(value, dtype=np.float64))
    if _close(got, exact):
        return False
    if _close(got, book_loss(rounded(x, dtype), y)):
        return True
    judge(where, ["loss"], [got], [exact], tolerance_for(dtype),
          "the mean cross-entropy over the batch")
    return False


# --- facts beyond the values ------------------------------------------------------------------


#: executor -> {class name: its interface reply}; an executor grades one submission.
_INTERFACES: weakref.WeakKeyDictionary[Any, dict[str, dict[str, str]]] = (
    weakref.WeakKeyDictionary())


def interface_of(ex: Executor, name: str) -> dict[str, str]:
    """The submission's answer to "has ``name`` the book's interface?", asked once."""
    try:
        known = _INTERFACES.setdefault(ex, {})
    except TypeError:  # an executor that cannot be weakly referenced: ask every time
        return dict(ex.call("layer_class_interface", name=name))
    if name not in known:
        known[name] = dict(ex.call("layer_class_interface", name=name))
    return known[name]


#: The input each gradient of a class is the upstream gradient times (a multiply switches).
_OTHER_INPUT = {"MulLayer": {"dx": "y", "dy": "x"}}


def _ignored_input(ex: Executor, name: str, case: Case, exc: CheckFailed) -> CheckFailed | None:
    """A wrong gradient that stays the same when the input it is made of changes.

    Run backward again with that input moved by 1: a gradient that does not move, where the
    right one would, ignores the input (a constant stands in its place).  The verdict keeps
    the gradient (``value``), the input (``expected_name``) and, when the gradient is dout
    times one number, that number (``got_name``).
    """
    if exc.kind != "wrong-values" or name not in _OTHER_INPUT or not exc.got:
        return None
    spec = LAYER_CLASSES[name]
    for grad in (m.value for m in exc.mismatches):
        source = _OTHER_INPUT[name].get(grad)
        if source is None:
            continue
        moved = {**case, source: np.asarray(case[source], dtype=np.float64) + 1.0}
        try:
            res = ex.call("layer_class", name=name, init=[], inputs=[moved[n] for n in spec.inputs],
                          dout=moved["dout"])
            again = as_gradients(res["grads"], spec.grads, name)[spec.grads.index(grad)]
        except (StudentError, ContractError):
            return None
        before = np.asarray(exc.got[grad], dtype=np.float64)
        after = np.asarray(again, dtype=np.float64)
        if before.shape != after.shape or not np.array_equal(before, after):
            continue
        dout = np.asarray(case["dout"], dtype=np.float64)
        ratio = before / np.where(dout == 0, np.nan, dout)
        same = ratio[np.isfinite(ratio)]
        const = (f"{float(same.flat[0]):g}" if same.size and np.allclose(same, same.flat[0])
                 and same.size == ratio.size else "")
        return exc.amended(kind="ignores-input", message=(
            f"{exc.message}. {grad} stays the same when {source} changes (tried {source} + 1): "
            f"{grad} = dout * {source} uses {const or 'a constant'} in place of {source}"),
            facts=replace(exc.facts, value=grad, got_name=const, expected_name=source))
    return None


def _cached_mask(name: str, res: dict[str, Any], exc: CheckFailed) -> CheckFailed | None:
    """A Sigmoid whose wrong backward kept only 0/1 masks from forward, no float output."""
    cached = dict(res.get("cached") or {})
    masks = [k for k, dtype in cached.items() if dtype == "bool"]
    if (name != "Sigmoid" or exc.kind != "wrong-values" or not masks
            or any(dtype.startswith("float") for dtype in cached.values())):
        return None
    return exc.amended(kind="caches-mask", message=(
        f"{exc.message}. After forward the instance keeps only the 0/1 mask self.{masks[0]}, "
        "not the output out = σ(x) that backward needs"),
        facts=replace(exc.facts, got_name=f"self.{masks[0]}", expected_name="out"))


# --- one class ---------------------------------------------------------------------------------


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

    def judge_forward(case: Case, out: Any) -> bool:
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
                expected_name=found["expected"]))

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
            raise (_ignored_input(ex, name, case, exc) or _cached_mask(name, res, exc)
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
        if book:  # its forward adds 1e-7 inside the log: so does the gradient judged
            grads[0] = np.asarray(grads[0], dtype=np.float64) + book_dx_shift(case["x"],
                                                                               case["y"])
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
            raise _cached_mask(name, res, exc) or exc from None
        return True

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
        checks.append(Check("nd input", _affine_case(True), stability,
                            "x of shape (N, d1, d2, ...) is reshaped to (N, -1); dx comes back "
                            "in x's shape", unjudged=_INTERFACE))
    if name in ("Sigmoid", "SoftmaxWithLoss"):
        checks.append(Check("stability", _cases(name, large=True), stability,
                            "finite and right for inputs up to 1000", unjudged=_INTERFACE))
    if last:
        checks.append(Check("integer labels", _softmax_case(False, False), stability,
                            "t given as integer labels (N,) instead of one-hot (N, C)",
                            unjudged=_INTERFACE))
    return checks


# --- the book's two-layer net, from the submission's classes -----------------------------------


@st.composite
def _net_case(draw: st.DrawFn) -> Case:
    n, d, h, c = (draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5)),
                  draw(st.integers(2, 4)))
    params = {"W1": draw(strategies.values((d, h), lo=-2.0, hi=2.0)),
              "b1": draw(strategies.values((h,), lo=-2.0, hi=2.0)),
              "W2": draw(strategies.values((h, c), lo=-2.0, hi=2.0)),
              "b2": draw(strategies.values((c,), lo=-2.0, hi=2.0))}
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return {"x": draw(strategies.values((n, d), lo=-3.0, hi=3.0)), "t": np.eye(c)[y], "y": y,
            "params": params}


@dataclass(frozen=True)
class Blame:
    """The first call of the net that is wrong on its own inputs."""

    layer: str  #: the net's name for the layer, e.g. "Affine2" (see NET_LAYERS)
    cls: str  #: its class, e.g. "Affine"
    step: str  #: "forward" or "backward"
    value: str  #: what it got wrong: "out", "loss", "dx", "dW" or "db"
    got: Any
    expected: Any

    @property
    def call(self) -> str:
        return f"{self.layer}.{self.step}"

    def describe(self) -> str:
        what = {"out": "its output differs from the oracle's on the very input the net gave it",
                "loss": "its loss differs from the mean cross-entropy of the scores the net "
                        "gave it"}.get(self.value, f"{self.value} is wrong for the input and "
                                                   "upstream gradient the net gave it")
        return f"{self.call} (class {self.cls}): {what}"

    def facts(self) -> Facts:
        got = np.shape(self.got) if self.got is not None else None
        exp = np.shape(self.expected)
        shapes = got is not None and got != exp
        return Facts(where=self.call, value=self.value, got_shape=got if shapes else None,
                     expected_shape=exp if shapes else None,
                     returned_none=self.got is None and self.step == "backward")


def _blame(k: int, step: str, value: str, got: Any, expected: Any) -> Blame:
    layer = list(NET_LAYERS)[k]
    return Blame(layer, NET_LAYERS[layer], step, value, got, expected)


def blame_layers(case: Case, calls: Sequence[dict[str, Any]]) -> Blame | None:
    """The first call of the net that is wrong on its own inputs; None if none."""
    params = case["params"]
    wp = {0: (params["W1"], params["b1"]), 2: (params["W2"], params["b2"])}
    forward_in: dict[int, Any] = {}
    for c in calls:
        k = int(c["index"])
        cls = c["layer"]
        if c["step"] == "forward":
            args = c["inputs"]
            forward_in[k] = args[0]
            x = np.asarray(args[0], dtype=np.float64)
            if cls == "Affine":
                expected = oracles.affine(x, *wp[k], np.zeros((x.shape[0], wp[k][0].shape[1])))[0]
            elif cls == "Relu":
                expected = np.maximum(x, 0.0)
            else:
                got = c.get("out")
                g = np.squeeze(np.asarray(got, dtype=np.float64)) if got is not None else None
                exact, _ = oracles.loss("softmax_loss", x, case["y"])
                if _close(g, exact) or _close(g, book_loss(x, case["y"])):
                    continue
                return _blame(k, "forward", "loss", g, exact)
            if not _close(c.get("out"), expected):
                return _blame(k, "forward", "out", c.get("out"), expected)
            continue
        x = np.asarray(forward_in.get(k), dtype=np.float64)
        dout = c["dout"]
        if cls == "SoftmaxWithLoss":
            _, dx = oracles.loss("softmax_loss", x, case["y"])
            expected_all = {"dx": dx}
        elif cls == "Affine":
            _, (dx, dw, db) = oracles.affine(x, *wp[k], dout)
            expected_all = {"dx": dx, "dW": dw, "db": db}
        else:
            d = np.asarray(dout, dtype=np.float64)
            _, (dx,) = oracles.relu(x, d)
            got = np.asarray(c.get("dx"), dtype=np.float64) if c.get("dx") is not None else None
            if got is not None and got.shape == x.shape:
                dx = np.where(x == 0, np.clip(got, np.minimum(0.0, d), np.maximum(0.0, d)), dx)
            expected_all = {"dx": dx}
        for value, expected in expected_all.items():
            if not _close(c.get(value), expected):
                return _blame(k, "backward", value, c.get(value), expected)
    return None


def layer_net_checks(name: str) -> list[Check]:
    keys = ("W1", "b1", "W2", "b2")

    def away_from_kinks(case: Case) -> None:
        h = case["x"] @ case["params"]["W1"] + case["params"]["b1"]
        assume(np.min(np.abs(h)) > 1e-6)

    def usable(ex: Executor) -> bool:
        return not any(interface_of(ex, n)["problem"]
                       for n in ("Affine", "Relu", "SoftmaxWithLoss"))

    def run(ex: Executor, case: Case) -> dict[str, Any]:
        return ex.call("layer_class_net", params=case["params"], x=case["x"], t=case["t"])

    def expected(case: Case) -> tuple[float, dict[str, Any]]:
        _, value, grads = oracles.net(case["params"], case["x"], case["y"], 0.0, 2)
        return value, grads

    def judge_loss(case: Case, value: Any) -> bool:
        where = f"{name}: SoftmaxWithLoss.forward(Affine2's output, t)"
        x = case["x"] @ case["params"]["W1"] + case["params"]["b1"]
        scores = np.maximum(x, 0.0) @ case["params"]["W2"] + case["params"]["b2"]
        return judge_loss_value(where, value, scores, case["y"])

    def judge_grads(case: Case, grads: Any) -> None:
        where = f"{name}: dW and db of both Affine layers after backward"
        if not isinstance(grads, dict) or any(grads.get(k) is None for k in keys):
            raise CheckFailed("bad-return", f"{where}: an Affine layer has no dW or db after "
                              "backward")
        for k in keys:
            expect_shape(grads[k], case["params"][k].shape, k, where, f"the shape of {k}")
            expect_finite(grads[k], k, where)
        dtype = working_dtype(*(grads[k] for k in keys))
        _, exp = expected(case)
        judge(where, list(keys), [grads[k] for k in keys], [exp[k] for k in keys],
              tolerance_for(dtype), "jax.grad of the net's loss")

    def with_blame(case: Case, res: dict[str, Any], verdict: Any) -> None:
        try:
            verdict()
        except CheckFailed as exc:
            found = blame_layers(case, res.get("calls") or [])
            if found is None:
                raise
            # The facts are the guilty call's: where names it ("Affine2.backward"), value is
            # what it got wrong on the inputs the net gave it (its shapes if they differ).
            raise exc.amended(message=f"{exc.message}. Guilty: {found.describe()}.",
                              facts=found.facts()) from None

    def loss(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        away_from_kinks(case)
        res = run(ex, case)
        with_blame(case, res, lambda: judge_loss(case, res["loss"]))
        return True

    def gradients(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        away_from_kinks(case)
        res = run(ex, case)
        with_blame(case, res, lambda: judge_grads(case, res["grads"]))
        return True

    def numerical(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        away_from_kinks(case)
        res = run(ex, case)
        try:
            book = judge_loss(case, res["loss"])
            grads = res["grads"]
            for k in keys:
                expect_shape(grads[k], case["params"][k].shape, k, name, "")
            moved = {**case, "params": nearby(case["params"], list(keys))}
            judge_loss(moved, ex.call("layer_class_net_loss", params=moved["params"],
                                      x=case["x"], t=case["t"]))
        except (CheckFailed, ContractError, StudentError, KeyError, TypeError):
            return False
        claimed = [np.asarray(grads[k], dtype=np.float64) for k in keys]
        if book:
            claimed = [g + s for g, s in zip(claimed, _net_book_shift(case))]

        def f(*vals: Any) -> Any:
            return ex.call("layer_class_net_loss", params=dict(zip(keys, vals)), x=case["x"],
                           t=case["t"])

        judge_numerical(f"{name} (your layers)", list(keys), f,
                        [case["params"][k] for k in keys], claimed, case)
        return True

    cases = _net_case()
    checks = [
        Check("loss", cases, loss, "the net's loss matches the oracle",
              unjudged="a layer class does not have the book's interface (see its item)"),
        Check("gradients", cases, gradients, "dW and db of both Affine layers match jax.grad",
              unjudged="a layer class does not have the book's interface (see its item)"),
        Check("numerical", cases, numerical, "the gradients match centred differences of the "
              "net's own loss", unjudged="a layer class does not have the book's interface, or "
              "the net's loss is wrong on every example (see the loss check)"),
    ]
    return checks


def _net_book_shift(case: Case) -> list[np.ndarray]:
    """How the book's 1e-7 inside the log changes the net's parameter gradients."""
    p = case["params"]
    pre = case["x"] @ p["W1"] + p["b1"]
    h = np.maximum(pre, 0.0)
    d = book_dx_shift(h @ p["W2"] + p["b2"], case["y"])
    dh = (d @ p["W2"].T) * (pre > 0)
    return [case["x"].T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)]

