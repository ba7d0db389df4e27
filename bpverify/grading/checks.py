"""The grader side: what is checked for every item, judged against the two oracles.

A check draws a case from a Hypothesis strategy, asks the executor to run a scenario on the
submission, and judges the plain data that comes back.  It raises :class:`CheckFailed` with
everything a report needs; the engine lets Hypothesis shrink that to a minimal example.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.contract import CIRCUITS, GATES, ContractError, Item, as_gradients, check_numeric
from bpverify.grading import oracles
from bpverify.grading.blame import blame_net
from bpverify.grading.compare import Tolerance, compare_values, tolerance_for, working_dtype
from bpverify.model import ElementMismatch, GateStep
from bpverify.submission import Executor, StudentError

__all__ = ["Check", "CheckFailed", "checks_for"]

Case = dict[str, Any]


class CheckFailed(Exception):
    """A check's verdict on one example, with what the report needs to explain it."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        expected: dict[str, Any] | None = None,
        got: dict[str, Any] | None = None,
        mismatches: Sequence[ElementMismatch] = (),
        count: int = 0,
        trace: Sequence[GateStep] = (),
    ) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message
        self.expected, self.got = expected, got
        self.mismatches, self.count, self.trace = tuple(mismatches), count, tuple(trace)


@dataclass(frozen=True)
class Check:
    """One named property of an item.  ``run`` returns False when an example was not judged."""

    name: str
    strategy: st.SearchStrategy[Any]
    run: Callable[[Executor, Any], bool | None]
    doc: str = ""
    #: Why a check that judged no example at all was skipped.
    unjudged: str = ("this check uses your forward, which is wrong on every example "
                     "(see the forward check)")


# --- shared judging helpers ------------------------------------------------------------------


def _rounded(v: Any, dtype: np.dtype[Any]) -> Any:
    """v as the submission saw it after rounding to its working precision."""
    if dtype == np.float64:
        return v
    return np.asarray(v).astype(dtype).astype(np.float64)


def _expect_shape(value: Any, shape: tuple[int, ...], name: str, where: str, hint: str) -> None:
    check_numeric(value, f"{where} ({name})")
    got = np.shape(value)
    if got != shape:
        raise CheckFailed(
            "wrong-shape",
            f"{where} returned {name} of shape {got}; expected shape {shape} ({hint})",
        )


def _expect_finite(value: Any, name: str, where: str) -> None:
    arr = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        what = "nan" if np.isnan(arr[idx]) else "inf"
        raise CheckFailed(
            "not-finite",
            f"{where} returned {name} containing {what}"
            + (f" at index {idx}" if idx else "")
            + f" ({int(bad.sum())} of {arr.size} elements are not finite). "
            "Large inputs overflow exp(); a stable formula avoids it.",
        )


def _judge(
    where: str,
    names: Sequence[str],
    got: Sequence[Any],
    expected: Sequence[Any],
    tol: Tolerance,
    what: str,
) -> None:
    """Raise CheckFailed listing every element of every value that disagrees."""
    mismatches: list[ElementMismatch] = []
    count = 0
    for name, g, e in zip(names, got, expected):
        m, c = compare_values(name, g, e, tol)
        mismatches += m
        count += c
    if count:
        wrong = sorted({m.value for m in mismatches}, key=list(names).index)
        raise CheckFailed(
            "wrong-values",
            f"{where}: {', '.join(wrong)} differ{'s' if len(wrong) == 1 else ''} from {what} "
            f"in {count} element{'s' if count != 1 else ''}; largest: {mismatches[0].describe()}",
            expected={n: _plain(e) for n, e in zip(names, expected)},
            got={n: _plain(g) for n, g in zip(names, got)},
            mismatches=mismatches,
            count=count,
        )


def _plain(v: Any) -> Any:
    """Nested lists and floats, for the result model and reports."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    a = np.asarray(v)
    if a.dtype.kind in "iu":  # labels and dimensions stay integers
        return a.tolist()
    if a.dtype.kind == "f":
        return a.astype(np.float64).tolist()
    return repr(v)


def plain_case(case: Any) -> Any:
    return _plain(case)


def _hygiene(
    where: str, names: Sequence[str], before: Sequence[Any], after: Sequence[Any], role: str
) -> None:
    for name, b, a in zip(names, before, after):
        if not isinstance(b, np.ndarray):
            continue
        a = np.asarray(a)
        changed = a.shape != b.shape or not np.array_equal(a, b, equal_nan=True)
        if changed:
            n = int((a != b).sum()) if a.shape == b.shape else b.size
            advice = (
                "A gradient that flows to several places (an add gate hands the same array "
                "to both of its inputs) is then corrupted; compute into a new array instead."
                if role == "upstream gradient"
                else "The caller still needs it; work on a copy instead."
            )
            raise CheckFailed(
                "mutates-input",
                f"{where} modified its {role} {name} in place ({n} of {b.size} elements "
                f"changed). {advice}",
                expected={name: _plain(b)},
                got={name: _plain(a)},
            )


def _raise_numerical(where: str, names: Sequence[str], result: Any) -> None:
    mismatches = [
        ElementMismatch(
            value=names[m.arg],
            index=tuple(m.index),
            expected=float(m.expected),
            got=float(m.got),
            abs_error=float(m.abs_error),
            rel_error=float(m.rel_error),
        )
        for m in result.mismatches
    ]
    first = mismatches[0].describe() if mismatches else ""
    raise CheckFailed(
        "numerical",
        f"{where} disagrees with centred differences of your own forward in "
        f"{len(mismatches)} element{'s' if len(mismatches) != 1 else ''}; largest: {first}",
        mismatches=mismatches[:20],
        count=len(mismatches),
    )


def _seed(case: Case) -> int:
    return zlib.crc32(repr(plain_case(case)).encode()) & 0x7FFFFFFF


def _numerical(
    where: str,
    names: Sequence[str],
    f: Callable[..., Any],
    args: Sequence[Any],
    grads: Sequence[Any],
    case: Case,
) -> None:
    from bpverify.gradcheck import check_gradient

    # A submission whose gradients are float32 computes in float32, even where it hands back a
    # float64 loss (a float64 regularizer added to a float32 data loss): say so.
    dtype = working_dtype(*grads)
    precision = None if dtype == np.float64 else str(dtype)
    result = check_gradient(f, list(args), list(grads), seed=_seed(case), precision=precision)
    # The claimed gradients carry their own rounding error, a few ulps of the largest gradient
    # in the submission's precision (float32: ~1e-7 relative), which the difference quotient's
    # error bound does not include: judge what remains by the same dtype table as the oracle.
    tol = tolerance_for(dtype)
    scale = max((float(np.max(np.abs(g), initial=0.0)) for g in grads), default=0.0)
    real = [m for m in result.mismatches
            if not abs(m.got - m.expected) <= tol.rtol * abs(m.expected) + tol.atol * scale
            + tol.floor]
    if real:
        _raise_numerical(where, names, replace(result, mismatches=tuple(real)))


def _weighted(out: Any, dout: Any) -> Any:
    """sum(out * dout) in the precision ``out`` was computed in (the scalar to differentiate)."""
    arr = np.asarray(out)
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    return dtype.type(np.sum(arr.astype(np.float64) * dout))


# --- gates ---------------------------------------------------------------------------------


def _nearby(case: Case, names: Sequence[str]) -> Case:
    """The case with the named inputs moved a little, deterministically.

    The numerical checks differentiate the submission's own forward.  Being right at one point
    does not make a forward right nearby (a missing bias is invisible at b = 0), so a forward is
    trusted only where it is right at both points.
    """
    rng = np.random.default_rng(_seed(case))
    moved = dict(case)
    for n in names:
        v = case[n]
        shift = rng.uniform(0.05, 0.3, np.shape(v)) * rng.choice([-1.0, 1.0], np.shape(v))
        moved[n] = float(v + shift) if isinstance(v, float) else np.asarray(v) + shift
    return moved


def _gate_inputs(name: str, case: Case) -> list[Any]:
    return [case[n] for n in GATES[name].inputs]


def _gate_oracle(name: str, inputs: Sequence[Any], const: Any, dout: Any,
                 dtype: np.dtype[Any]) -> tuple[Any, list[Any]]:
    return oracles.gate(
        name, [_rounded(v, dtype) for v in inputs],
        None if const is None else _rounded(const, dtype), _rounded(dout, dtype),
    )


def _project_max_ties(inputs: Sequence[Any], dout: Any, got: Sequence[Any],
                      dtype: np.dtype[Any] | None = None) -> list[Any]:
    """At a tie any split dx = a dz, dy = (1 - a) dz with 0 <= a <= 1 is a valid subgradient.

    Ties are looked for in the inputs as the submission saw them (rounded to its dtype).
    """
    dtype = np.dtype(np.float64) if dtype is None else dtype
    x, y = (np.asarray(_rounded(v, dtype), dtype=np.float64) for v in inputs)
    dz = np.broadcast_to(np.asarray(dout, dtype=np.float64), x.shape)
    dx_got = np.asarray(got[0], dtype=np.float64)
    with np.errstate(all="ignore"):
        a = np.clip(np.nan_to_num(dx_got / dz), 0.0, 1.0)
    wins = x > y
    tie = x == y
    dx = np.where(tie, a * dz, np.where(wins, dz, 0.0))
    dy = np.where(tie, (1.0 - a) * dz, np.where(wins, 0.0, dz))
    return [dx, dy]


def _gate_call(ex: Executor, name: str, case: Case) -> tuple[dict[str, Any], tuple[Any, ...]]:
    spec = GATES[name]
    res = ex.call("gate", name=name, const=case.get(spec.const or ""),
                  inputs=_gate_inputs(name, case), dout=case["dout"])
    return res, as_gradients(res["grads"], spec.grads, f"{name}.backward")


def _alone(ex: Executor, name: str, case: Case) -> tuple[Any, tuple[Any, ...]]:
    res, grads = _gate_call(ex, name, case)
    return res["out"], grads


def _out_shape(name: str, inputs: Sequence[Any]) -> tuple[int, ...]:
    return () if name == "SigmoidNeuron" else np.shape(inputs[0])


def _judge_gate_forward(name: str, case: Case, out: Any) -> None:
    spec = GATES[name]
    inputs = _gate_inputs(name, case)
    where = f"{name}.forward({', '.join(spec.inputs)})"
    _expect_shape(out, _out_shape(name, inputs), "its output", where,
                  "the output has the shape of the inputs")
    dtype = working_dtype(out)
    expected, _ = _gate_oracle(name, inputs, case.get(spec.const or ""), case["dout"], dtype)
    _judge(where, ["out"], [out], [expected], tolerance_for(dtype), "the oracle's value")


def _judge_gate_backward(name: str, case: Case, out: Any, grads: Sequence[Any]) -> None:
    spec = GATES[name]
    inputs = _gate_inputs(name, case)
    where = f"{name}.backward(dout)"
    for gname, g, x in zip(spec.grads, grads, inputs):
        _expect_shape(g, np.shape(x), gname, where,
                      f"a gradient has the shape of its input {gname[1:]}")
        _expect_finite(g, gname, where)
    dtype = working_dtype(out, *grads)
    _, expected = _gate_oracle(name, inputs, case.get(spec.const or ""), case["dout"], dtype)
    if name == "MaxGate":
        expected = _project_max_ties(inputs, case["dout"], grads, dtype)
    _judge(where, spec.grads, grads, expected, tolerance_for(dtype),
           "the chain rule (upstream gradient times local gradient)")


def _gate_checks(name: str) -> list[Check]:
    spec = GATES[name]
    cases = strategies.gate_cases(name)

    def forward(ex: Executor, case: Case) -> None:
        out = ex.call("gate_forward", name=name, const=case.get(spec.const or ""),
                      inputs=_gate_inputs(name, case))
        _judge_gate_forward(name, case, out)

    def backward(ex: Executor, case: Case) -> None:
        res, grads = _gate_call(ex, name, case)
        _judge_gate_backward(name, case, res["out"], grads)

    def numerical(ex: Executor, case: Case) -> bool:
        res, grads = _gate_call(ex, name, case)
        const = case.get(spec.const or "")
        try:
            _judge_gate_forward(name, case, res["out"])
            for g, x in zip(grads, _gate_inputs(name, case)):
                _expect_shape(g, np.shape(x), "gradient", name, "")
            moved = _nearby(case, spec.inputs)
            _judge_gate_forward(name, moved, ex.call("gate_forward", name=name, const=const,
                                                     inputs=_gate_inputs(name, moved)))
        except (CheckFailed, ContractError, StudentError):
            return False  # the forward check and the backward check report this

        def f(*ins: Any) -> Any:
            return _weighted(ex.call("gate_forward", name=name, const=const, inputs=list(ins)),
                             case["dout"])

        _numerical(f"{name}.backward", spec.grads, f, _gate_inputs(name, case), grads, case)
        return True

    def hygiene(ex: Executor, case: Case) -> None:
        res = ex.call("gate", name=name, const=case.get(spec.const or ""),
                      inputs=_gate_inputs(name, case), dout=case["dout"])
        inputs = _gate_inputs(name, case)
        _hygiene(f"{name}.forward", spec.inputs, inputs, res["inputs_after_forward"], "input")
        _hygiene(f"{name}.backward", spec.inputs, inputs, res["inputs_after"], "cached input")
        _hygiene(f"{name}.backward", ["dout"], [case["dout"]], [res["dout_after"]],
                 "upstream gradient")

    def instances(ex: Executor, pair: tuple[Case, Case]) -> bool:
        a, b = pair
        res = ex.call(
            "gate_pair", name=name,
            consts=(a.get(spec.const or ""), b.get(spec.const or "")),
            inputs_a=_gate_inputs(name, a), inputs_b=_gate_inputs(name, b),
            dout_a=a["dout"], dout_b=b["dout"],
        )
        for label, case, raw in (("first", a, res["grads_a"]), ("second", b, res["grads_b"])):
            grads = as_gradients(raw, spec.grads, f"{name}.backward ({label} instance)")
            try:
                _judge_gate_backward(name, case, grads[0], grads)
            except CheckFailed as exc:
                try:  # wrong even alone? then the backward check reports it, not this one
                    _judge_gate_backward(name, case, *_alone(ex, name, case))
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

    checks = [
        Check("forward", cases, forward, "forward matches the JAX oracle"),
        Check("backward", cases, backward, "backward matches jax.vjp with a random upstream"),
        Check("numerical", cases, numerical, "backward matches centred differences"),
        Check("hygiene", cases, hygiene, "inputs and dout are left unmodified"),
        Check("instances", st.tuples(cases, cases), instances,
              "two instances keep their own caches",
              unjudged="backward is wrong even for a single instance (see the backward check)"),
    ]
    if name in ("SigmoidGate", "SigmoidNeuron"):
        big = strategies.gate_cases(name, large=True)

        def stability(ex: Executor, case: Case) -> None:
            res, grads = _gate_call(ex, name, case)
            _expect_finite(res["out"], "its output", f"{name}.forward")
            _judge_gate_forward(name, case, res["out"])
            _judge_gate_backward(name, case, res["out"], grads)

        checks.append(Check("stability", big, stability, "finite and right for |x| up to 1000"))
    return checks


# --- layers and losses ---------------------------------------------------------------------


def _layer_checks(item: str) -> list[Check]:
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
        return oracle(*[_rounded(v, dtype) for v in inputs(case)], _rounded(case["dout"], dtype))

    def judge_forward(case: Case, out: Any) -> None:
        x = case["x"]
        shape = (x.shape[0], case["w"].shape[1]) if base == "affine" else x.shape
        where = f"{fwd}({', '.join(names)})"
        hint = "(N, M): x is flattened to (N, D)" if base == "affine" else "the shape of x"
        _expect_shape(out, shape, "out", where, hint)
        dtype = working_dtype(out)
        _judge(where, ["out"], [out], [expected(case, dtype)[0]], tolerance_for(dtype),
               "the oracle's value")

    def judge_backward(case: Case, grads: Sequence[Any]) -> None:
        where = f"{bwd}(dout, cache)"
        for gname, g, v in zip(grad_names, grads, inputs(case)):
            _expect_shape(g, v.shape, gname, where, f"a gradient has the shape of {gname[1:]}")
            _expect_finite(g, gname, where)
        dtype = working_dtype(*grads)
        dout = _rounded(case["dout"], dtype)
        exp = expected(case, dtype)[1]
        if base == "relu":  # at x == 0 any value between 0 and dout is a valid subgradient
            x, g = _rounded(case["x"], dtype), np.asarray(grads[0], dtype=np.float64)
            lo, hi = np.minimum(0.0, dout), np.maximum(0.0, dout)
            exp = [np.where(x == 0, np.clip(g, lo, hi), exp[0])]
        _judge(where, grad_names, grads, exp, tolerance_for(dtype),
               "the chain rule (upstream gradient times local gradient)")

    def call(ex: Executor, case: Case, with_backward: bool) -> dict[str, Any]:
        return ex.call("layer", forward=fwd, backward=bwd if with_backward else None,
                       inputs=inputs(case), dout=case["dout"])

    if item == fwd:
        def forward(ex: Executor, case: Case) -> None:
            judge_forward(case, call(ex, case, False)["out"])

        def hygiene_f(ex: Executor, case: Case) -> None:
            res = call(ex, case, False)
            _hygiene(fwd, names, inputs(case), res["inputs_after"], "input")

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
                _expect_shape(g, v.shape, "gradient", bwd, "")
            moved = _nearby(case, names)
            judge_forward(moved, ex.call("layer_forward", forward=fwd, inputs=inputs(moved)))
        except (CheckFailed, ContractError, StudentError):
            return False

        def f(*ins: Any) -> Any:
            return _weighted(ex.call("layer_forward", forward=fwd, inputs=list(ins)),
                             case["dout"])

        _numerical(bwd, grad_names, f, inputs(case), grads, case)
        return True

    def hygiene_b(ex: Executor, case: Case) -> None:
        res = call(ex, case, True)
        _hygiene(bwd, names, res["inputs_after_forward"], res["inputs_after"], "cached input")
        _hygiene(bwd, ["dout"], [case["dout"]], [res["dout_after"]], "upstream gradient")

    return [
        Check("backward", cases, backward, "gradients match jax.vjp with a random upstream"),
        Check("numerical", cases, numerical, "gradients match centred differences"),
        Check("hygiene", cases, hygiene_b, "dout and the cached inputs are left unmodified"),
    ]


def _svm_project(scores: Any, y: Any, got: Any, base: Any) -> Any:
    """At a hinge margin of exactly 0 the indicator may be anything in [0, 1]."""
    n = scores.shape[0]
    rows = np.arange(n)
    margins = scores - scores[rows, y][:, None] + 1.0
    tie = margins == 0
    tie[rows, y] = False
    if not tie.any():
        return base
    g = np.asarray(got, dtype=np.float64)
    a = np.where(tie, np.clip((g - base) * n, 0.0, 1.0), 0.0)
    expected = base + a / n
    expected[rows, y] -= a.sum(axis=1) / n
    return expected


def _loss_checks(name: str) -> list[Check]:

    def call(ex: Executor, case: Case) -> tuple[Any, Any, dict[str, Any]]:
        res = ex.call("loss", name=name, scores=case["scores"], y=case["y"])
        return res["loss"], res["dscores"], res

    def expected(case: Case, dtype: np.dtype[Any]) -> tuple[Any, Any]:
        return oracles.loss(name, _rounded(case["scores"], dtype), case["y"])

    def judge_loss(case: Case, value: Any) -> None:
        where = f"{name}(scores, y)"
        check_numeric(value, f"{where} (loss)")
        _expect_shape(np.squeeze(value) if np.size(value) == 1 else value, (), "loss", where,
                      "the loss is a scalar averaged over the batch")
        _expect_finite(value, "loss", where)
        dtype = working_dtype(value)
        _judge(where, ["loss"], [np.squeeze(value)], [expected(case, dtype)[0]],
               tolerance_for(dtype), "the oracle's loss")

    def judge_grad(case: Case, value: Any, ds: Any) -> None:
        where = f"{name}(scores, y)"
        _expect_shape(ds, case["scores"].shape, "dscores", where, "the shape of scores")
        _expect_finite(ds, "dscores", where)
        dtype = working_dtype(ds)
        exp = expected(case, dtype)[1]
        if name == "svm_loss":
            exp = _svm_project(_rounded(case["scores"], dtype), case["y"], ds, exp)
        _judge(where, ["dscores"], [ds], [exp], tolerance_for(dtype),
               "the gradient of the loss")

    def loss_check(ex: Executor, case: Case) -> None:
        judge_loss(case, call(ex, case)[0])

    def gradient(ex: Executor, case: Case) -> None:
        value, ds, _ = call(ex, case)
        judge_grad(case, value, ds)

    def numerical(ex: Executor, case: Case) -> bool:
        value, ds, _ = call(ex, case)
        try:
            judge_loss(case, value)
            _expect_shape(ds, case["scores"].shape, "dscores", name, "")
            moved = _nearby(case, ["scores"])
            judge_loss(moved, call(ex, moved)[0])
        except (CheckFailed, ContractError, StudentError):
            return False

        def f(scores: Any) -> Any:
            return ex.call("loss", name=name, scores=scores, y=case["y"])["loss"]

        _numerical(name, ["dscores"], f, [case["scores"]], [ds], case)
        return True

    def hygiene(ex: Executor, case: Case) -> None:
        _, _, res = call(ex, case)
        _hygiene(name, ["scores", "y"], [case["scores"], case["y"]], res["inputs_after"], "input")

    cases = strategies.loss_cases(name)
    checks = [
        Check("loss", cases, loss_check, "the loss matches the JAX oracle"),
        Check("gradient", cases, gradient, "dscores matches jax.grad"),
        Check("numerical", cases, numerical, "dscores matches centred differences"),
        Check("hygiene", cases, hygiene, "scores and y are left unmodified"),
    ]
    if name == "softmax_loss":
        def stability(ex: Executor, case: Case) -> None:
            value, ds, _ = call(ex, case)
            judge_loss(case, value)
            judge_grad(case, value, ds)

        checks.append(Check("stability", strategies.loss_cases(name, large=True), stability,
                            "finite and right for scores up to 1000"))
    return checks


# --- nets ----------------------------------------------------------------------------------


def _net_kwargs(name: str, case: Case) -> dict[str, Any]:
    dims = case["dims"]
    kw: dict[str, Any] = {"input_dim": dims[0]}
    if name == "TwoLayerNet":
        kw["hidden_dim"] = dims[1]
    else:
        kw["hidden_dims"] = (dims[1], dims[2])
    kw.update(num_classes=dims[-1], weight_scale=1e-3, reg=case["reg"])
    return kw


def _net_checks(name: str) -> list[Check]:
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
        return ex.call("net", name=name, kwargs=_net_kwargs(name, case),
                       params=case["params"], X=case["X"], y=case["y"])

    def expected(case: Case, dtype: np.dtype[Any]) -> tuple[Any, Any, dict[str, Any]]:
        params = {k: _rounded(v, dtype) for k, v in case["params"].items()}
        return oracles.net(params, _rounded(case["X"], dtype), case["y"], case["reg"], layers)

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
            _expect_shape(grads[k], case["params"][k].shape, k, where, f"the shape of {k}")
            _expect_finite(grads[k], k, where)
        dtype = working_dtype(*(grads[k] for k in keys))
        _, _, exp = expected(case, dtype)
        _judge(where, keys, [grads[k] for k in keys], [exp[k] for k in keys],
               tolerance_for(dtype), what)

    def judge_loss(case: Case, res: dict[str, Any]) -> None:
        where = f"{name}.loss(X, y)"
        value = res["loss"]
        check_numeric(value, f"{where} (loss)")
        _expect_finite(value, "loss", where)
        dtype = working_dtype(value)
        _judge(where, ["loss"], [np.squeeze(value)], [expected(case, dtype)[1]],
               tolerance_for(dtype), "softmax loss + 0.5*reg*sum(W**2)")

    def scores(ex: Executor, case: Case) -> None:
        away_from_kinks(case)
        res = call(ex, case)
        where = f"{name}.loss(X)"
        n, c = case["X"].shape[0], case["dims"][-1]
        _expect_shape(res["scores"], (n, c), "scores", where, "(N, C) class scores")
        dtype = working_dtype(res["scores"])
        _judge(where, ["scores"], [res["scores"]], [expected(case, dtype)[0]],
               tolerance_for(dtype), "the oracle's scores")

    def with_blame(ex: Executor, case: Case, judge: Callable[[], None]) -> None:
        """Judge; on failure, replay the net layer by layer and name the guilty call."""
        try:
            judge()
        except CheckFailed as exc:
            try:
                traced = ex.call("net_traced", name=name, kwargs=_net_kwargs(name, case),
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
                _expect_shape(grads[k], case["params"][k].shape, k, name, "")
            moved = {**case, "params": _nearby(case["params"], keys)}
            judge_loss(moved, call(ex, moved))
        except (CheckFailed, ContractError, StudentError, KeyError, TypeError):
            return False
        kwargs = _net_kwargs(name, case)

        def f(*vals: Any) -> Any:
            return ex.call("net_loss", name=name, kwargs=kwargs, params=dict(zip(keys, vals)),
                           X=case["X"], y=case["y"])

        _numerical(f"{name}.loss(X, y)", keys, f, [case["params"][k] for k in keys],
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


# --- circuits ------------------------------------------------------------------------------


def circuit_trace(name: str, values: dict[str, float], dout: float,
                  res: dict[str, Any]) -> list[GateStep]:
    """Every gate as it ran, beside what a correct gate returns on the same inputs and upstream."""
    spec = CIRCUITS[name]
    trace = []
    for node, step in zip(spec.nodes, res["steps"]):
        gspec = GATES[node.gate]
        ins = [float(np.squeeze(v)) for v in step["inputs"]]
        upstream = step.get("upstream")
        exp_out, local = _gate_oracle(node.gate, ins, node.const, 1.0, np.dtype(np.float64))
        out_ok = _close(step["output"], exp_out)
        try:
            grads = [float(np.squeeze(g)) for g in
                     as_gradients(step.get("grads"), gspec.grads, node.gate)]
        except (ContractError, TypeError):
            grads = []
        if upstream is not None:
            up = float(np.squeeze(upstream))
            _, exp_grads = _gate_oracle(node.gate, ins, node.const, up, np.dtype(np.float64))
            if node.gate == "MaxGate":
                exp_grads = _project_max_ties(ins, up, grads or [0.0, 0.0])
            exp = [float(g) for g in exp_grads]
            back_ok = bool(grads) and all(_close(g, e) for g, e in zip(grads, exp))
        else:  # the backward pass was not run: nothing to judge, nothing to blame
            up, exp, back_ok = None, [], True
        trace.append(GateStep(
            gate=node.gate, label=node.label, inputs=node.inputs, output=node.output,
            input_values=tuple(ins), output_value=_plain(step["output"]),
            expected_output=float(exp_out), upstream=up, grads=tuple(grads),
            expected_grads=tuple(exp), local_grads=tuple(float(g) for g in local),
            forward_ok=out_ok, backward_ok=back_ok,
        ))
    return trace


def _close(got: Any, expected: Any) -> bool:
    try:
        tol = tolerance_for(working_dtype(got))
        return not compare_values("v", np.squeeze(got), expected, tol)[1]
    except (TypeError, ValueError):
        return False


def _circuit_checks(name: str) -> list[Check]:
    spec = CIRCUITS[name]
    cases = strategies.circuit_cases(spec.inputs)

    def run(ex: Executor, case: Case, backward: bool = True,
            ) -> tuple[dict[str, Any], list[GateStep], Any, list[Any]]:
        res = ex.call("circuit", name=name, values=case["values"], dout=case["dout"],
                      backward=backward)
        trace = circuit_trace(name, case["values"], case["dout"], res)
        out, grads = oracles.circuit(spec.nodes, case["values"], case["dout"])
        return res, trace, out, [grads[w] for w in spec.inputs]

    def forward(ex: Executor, case: Case) -> None:
        res, trace, out, _ = run(ex, case, backward=False)
        got = res["steps"][-1]["output"]
        check_numeric(got, f"{name} output")
        try:
            _judge(name, ["f"], [np.squeeze(got)], [out], tolerance_for(_circuit_dtype(res)),
                   "the oracle's value")
        except CheckFailed as exc:
            guilty = next((s for s in trace if not s.forward_ok), None)
            blame = (f" The first gate whose output is wrong is {guilty.gate} "
                     f"(the {guilty.label} gate computing {guilty.output})." if guilty else "")
            raise CheckFailed("wrong-values", exc.message + "." + blame, expected=exc.expected,
                              got=exc.got, mismatches=exc.mismatches, count=exc.count,
                              trace=trace) from None

    def backward(ex: Executor, case: Case) -> None:
        res, trace, _, grads = run(ex, case)
        names = ["d" + w for w in spec.inputs]
        got = [res["input_grads"][w] for w in spec.inputs]
        for n, g in zip(names, got):
            check_numeric(g, f"{name} gradient {n}")
        try:
            _judge(name, names, [np.squeeze(g) for g in got], grads,
                   tolerance_for(_circuit_dtype(res)),
                   "backpropagation through correct gates")
        except CheckFailed as exc:
            guilty = next((s for s in reversed(trace) if not s.backward_ok), None)
            blame = ""
            if guilty is not None:
                blame = (
                    f" The first gate (going backward) whose gradient is wrong is {guilty.gate} "
                    f"(the {guilty.label} gate): given upstream {guilty.upstream:.4g} it returned "
                    f"{_fmt(guilty.grads)}, expected {_fmt(guilty.expected_grads)}."
                )
            raise CheckFailed("wrong-values", exc.message + "." + blame, expected=exc.expected,
                              got=exc.got, mismatches=exc.mismatches, count=exc.count,
                              trace=trace) from None

    return [
        Check("forward", cases, forward, "the circuit's output matches the oracle"),
        Check("backward", cases, backward, "the input gradients match the oracle"),
    ]


def _circuit_dtype(res: dict[str, Any]) -> np.dtype[Any]:
    """The lowest precision any gate of the circuit computed in (float32 gates round)."""
    values = [step.get(k) for step in res["steps"] for k in ("output", "grads")]
    flat: list[Any] = []
    for v in values:
        flat.extend(v if isinstance(v, (list, tuple)) else [v])
    return working_dtype(*(v for v in flat if isinstance(v, np.ndarray)))


def _fmt(vals: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in vals) + ")"


#: The spiral run of the optional "TwoLayerNet spiral" item, and its pass mark.
SPIRAL = {"steps": 3000, "learning_rate": 1.0, "hidden": 100, "reg": 1e-3, "pass_mark": 0.9}


def _spiral_checks(name: str) -> list[Check]:
    def trains(ex: Executor, _: Any) -> None:
        from bpverify.grading.spiral import make_spiral

        X, y = make_spiral(seed=0)
        kwargs = {"input_dim": 2, "hidden_dim": SPIRAL["hidden"], "num_classes": 3,
                  "weight_scale": 0.01, "reg": SPIRAL["reg"]}
        res = ex.call("train_spiral", name=name, kwargs=kwargs, X=X, y=y,
                      steps=SPIRAL["steps"], learning_rate=SPIRAL["learning_rate"])
        params = res["params"]
        if not isinstance(params, dict) or not {"W1", "b1", "W2", "b2"} <= set(params):
            raise CheckFailed("bad-return", f"after training, {name}.params has keys "
                              f"{sorted(params) if isinstance(params, dict) else params}; "
                              "expected W1, b1, W2, b2")
        # The accuracy is judged here, with the oracle's scores of the trained parameters.
        scores, _, _ = oracles.net({k: np.asarray(params[k], dtype=np.float64)
                                    for k in ("W1", "b1", "W2", "b2")}, X, y, 0.0, 2)
        accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
        if not accuracy >= SPIRAL["pass_mark"]:
            raise CheckFailed(
                "accuracy",
                f"{name} trains to {accuracy:.0%} on the spiral ({SPIRAL['steps']} full-batch "
                f"gradient steps, learning rate {SPIRAL['learning_rate']}); expected at least "
                f"{SPIRAL['pass_mark']:.0%}. A linear classifier gets about 54%: the ReLU "
                "layer is what lets the net bend its decision boundary around the arms.",
                got={"accuracy": accuracy},
            )

    return [Check("trains", st.just(0), trains, "trains to at least 90% on the spiral")]


def checks_for(item: Item) -> list[Check]:
    """The checks of one item, in reporting order."""
    if item.category == "gate":
        return _gate_checks(item.name)
    if item.category == "layer":
        return _layer_checks(item.name)
    if item.category == "loss":
        return _loss_checks(item.name)
    if item.category == "net":
        return _net_checks(item.name)
    if item.category == "circuit":
        return _circuit_checks(item.name)
    if item.category == "demo":
        return _spiral_checks(item.needs[0])
    raise ValueError(f"unknown item category {item.category!r} for {item.name}")
