"""What every check shares: the verdict exception, the check record and the judging helpers.

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
from hypothesis import strategies as st

from bpverify.closeness import Tolerance, scale_of, tolerance_for, working_dtype
from bpverify.contract import ContractError, check_numeric
from bpverify.grading.compare import compare_values, mismatches_from_grad
from bpverify.model import MAX_RECORDED_MISMATCHES, CheckResult, ElementMismatch, Facts, GateStep
from bpverify.submission import Executor, StudentError
from bpverify.submission.cs231n import legacy_hint

Case = dict[str, Any]


class CheckFailed(Exception):
    """A check's verdict on one example: the failed :class:`CheckResult` as far as a check knows.

    ``result`` is that partial record (kind, message, facts, expected, got, mismatches, trace);
    the engine completes it with the check's name, the minimal example and the run's numbers.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        facts: Facts | None = None,
        expected: dict[str, Any] | None = None,
        got: dict[str, Any] | None = None,
        mismatches: Sequence[ElementMismatch] = (),
        count: int = 0,
        trace: Sequence[GateStep] = (),
    ) -> None:
        self.result = CheckResult(
            name="", status="failed", kind=kind, message=message, facts=facts or Facts(),
            expected=expected, got=got, mismatches=tuple(mismatches),
            mismatch_count=count or len(mismatches), trace=tuple(trace),
        )
        super().__init__(message)

    @classmethod
    def of(cls, result: CheckResult) -> CheckFailed:
        failed = cls(result.kind, result.message)
        failed.result = result
        return failed

    def amended(self, **changes: Any) -> CheckFailed:
        """The same verdict with some fields of its record changed (a longer message, a trace)."""
        return CheckFailed.of(replace(self.result, **changes))

    @property
    def kind(self) -> str:
        return self.result.kind

    @property
    def message(self) -> str:
        return self.result.message

    @property
    def facts(self) -> Facts:
        return self.result.facts

    @property
    def expected(self) -> dict[str, Any] | None:
        return self.result.expected

    @property
    def got(self) -> dict[str, Any] | None:
        return self.result.got

    @property
    def mismatches(self) -> tuple[ElementMismatch, ...]:
        return self.result.mismatches

    @property
    def count(self) -> int:
        return self.result.mismatch_count

    @property
    def trace(self) -> tuple[GateStep, ...]:
        return self.result.trace


def contract_failed(exc: ContractError) -> CheckFailed:
    """A value of the wrong form, as a verdict with the contract's facts."""
    return CheckFailed("bad-return", str(exc), facts=Facts(
        where=exc.where, returned_none=exc.returned_none, returned_count=exc.returned_count,
        expected_count=exc.expected_count, only_none=exc.only_none))


def student_failed(exc: StudentError) -> CheckFailed:
    """The submission raised: the verdict keeps the exception's type and names as facts."""
    tb = f"\n{exc.tb}" if exc.tb else ""
    # Python 2 code and numpy APIs that were removed get their fix, not a bare TypeError.
    hint = legacy_hint(f"{exc.exc_type}: {exc.message}", exc.where)
    return CheckFailed("raised", f"{hint}. {exc}{tb}" if hint else f"{exc}{tb}", facts=Facts(
        where=exc.where, exc_type=exc.exc_type, array_truth_value=exc.array_truth_value,
        array_to_scalar=exc.array_to_scalar,
        got_name=exc.got_name, expected_name=exc.expected_name))


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


def rounded(v: Any, dtype: np.dtype[Any]) -> Any:
    """v as the submission saw it after rounding to its working precision."""
    if dtype == np.float64:
        return v
    return np.asarray(v).astype(dtype).astype(np.float64)


def expect_shape(value: Any, shape: tuple[int, ...], name: str, where: str, hint: str, *,
                 named: bool = False) -> None:
    """``named``: as :func:`~bpverify.contract.check_numeric` says (one of several values)."""
    check_numeric(value, f"{where} ({name})", named=named)
    got = np.shape(value)
    if got != shape:
        raise CheckFailed(
            "wrong-shape",
            f"{where} returned {name} of shape {got}; expected shape {shape} ({hint})",
            facts=Facts(where=where, value=name, got_shape=got, expected_shape=tuple(shape)),
        )


def expect_written(where: str, loss: Any, grads: Any) -> None:
    """The starter-stub verdict when a net's loss returned the starter's placeholders.

    Every CS231n net's starter sets ``loss, grads = 0.0, {}`` before its TODO block: a loss of
    exactly 0 with no gradient at all is that code unwritten, not a wrong loss.  The verdict's
    ``only_none`` fact makes the engine grade the item "not implemented" when every failed
    check says so.
    """
    zero = isinstance(loss, (int, float)) and not isinstance(loss, bool) and loss == 0
    if zero and isinstance(grads, dict) and not grads:
        raise CheckFailed("bad-return", f"{where} returned loss 0 and no gradients, the "
                          "placeholders `loss, grads = 0.0, {}` of the starter code. Is it "
                          "still the starter code?", facts=Facts(where=where, only_none=True))


def expect_finite(value: Any, name: str, where: str) -> None:
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
            facts=Facts(where=where, value=name),
        )


def judge(
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
            expected={n: to_plain(e) for n, e in zip(names, expected)},
            got={n: to_plain(g) for n, g in zip(names, got)},
            mismatches=mismatches,
            count=count,
            facts=Facts(where=where, value=", ".join(wrong)),
        )


def to_plain(v: Any) -> Any:
    """Nested lists and floats (and text, such as a program's code), for the result model."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return {k: to_plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_plain(x) for x in v]
    a = np.asarray(v)
    if a.dtype.kind in "iu":  # labels and dimensions stay integers
        return a.tolist()
    if a.dtype.kind == "f":
        return a.astype(np.float64).tolist()
    return repr(v)


def plain_case(case: Any) -> Any:
    return to_plain(case)


def judge_unmodified(
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
                expected={name: to_plain(b)},
                got={name: to_plain(a)},
                facts=Facts(where=where, changed_input=name),
            )


def raise_numerical(where: str, names: Sequence[str], result: Any) -> None:
    mismatches = mismatches_from_grad(result.mismatches, names)
    first = mismatches[0].describe() if mismatches else ""
    # A search stopped by its budget (judge_numerical's max_evaluations) located some only.
    least = "at least " if any(r.reason == "mismatch" for r in result.unresolved) else ""
    raise CheckFailed(
        "numerical",
        f"{where} disagrees with centred differences of your own forward in {least}"
        f"{len(mismatches)} element{'s' if len(mismatches) != 1 else ''}; largest: {first}",
        mismatches=mismatches[:MAX_RECORDED_MISMATCHES],
        count=len(mismatches),
        facts=Facts(where=where),
    )


def case_seed(case: Case) -> int:
    return zlib.crc32(repr(plain_case(case)).encode()) & 0x7FFFFFFF


def judge_numerical(
    where: str,
    names: Sequence[str],
    f: Callable[..., Any],
    args: Sequence[Any],
    grads: Sequence[Any],
    case: Case,
    *,
    max_evaluations: int | None = None,
) -> None:
    """Compare ``grads`` with centred differences of ``f`` at ``args``; raise on a located
    mismatch.  ``max_evaluations`` caps the evaluations of ``f`` (the gradient check's own
    default when None): a family whose forward is slow (a recurrence in Python loops) and
    whose wrong gradients are wrong in hundreds of elements stops after locating some."""
    from bpverify.gradcheck import check_gradient
    from bpverify.gradcheck.numerics import DEFAULT_MAX_EVALUATIONS

    # A submission whose gradients are float32 computes in float32, even where it hands back a
    # float64 loss (a float64 regularizer added to a float32 data loss): say so.
    dtype = working_dtype(*grads)
    precision = None if dtype == np.float64 else str(dtype)
    f_many = f.many if isinstance(f, ScenarioForward) else None
    budget = max_evaluations or DEFAULT_MAX_EVALUATIONS
    result = check_gradient(f, list(args), list(grads), seed=case_seed(case), precision=precision,
                            f_many=f_many, max_evaluations=budget, screen_first=True)
    # The claimed gradients carry their own rounding error, a few ulps of the largest gradient
    # in the submission's precision (float32: ~1e-7 relative), which the difference quotient's
    # error bound does not include: judge what remains by the same dtype table as the oracle.
    tol = tolerance_for(dtype)
    scale = max((scale_of(g) for g in grads), default=0.0)
    real = [m for m in result.mismatches
            if not tol.allows(abs(m.got - m.expected), m.expected, scale)]
    if real:
        raise_numerical(where, names, replace(result, mismatches=tuple(real)))


def weighted_sum(out: Any, dout: Any) -> Any:
    """sum(out * dout) in the precision ``out`` was computed in (the scalar to differentiate)."""
    arr = np.asarray(out)
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    return dtype.type(np.sum(arr.astype(np.float64) * dout))



def nearby(case: Case, names: Sequence[str]) -> Case:
    """The case with the named inputs moved a little, deterministically.

    The numerical checks differentiate the submission's own forward.  Being right at one point
    does not make a forward right nearby (a missing bias is invisible at b = 0), so a forward is
    trusted only where it is right at both points.
    """
    rng = np.random.default_rng(case_seed(case))
    moved = dict(case)
    for n in names:
        v = case[n]
        shift = rng.uniform(0.05, 0.3, np.shape(v)) * rng.choice([-1.0, 1.0], np.shape(v))
        moved[n] = float(v + shift) if isinstance(v, float) else np.asarray(v) + shift
    return moved




#: A batch of forwards may take this share of the executor's per-call time limit.
BATCH_TIME_SHARE = 0.25


@dataclass(frozen=True)
class ScenarioForward:
    """The function a numerical check differentiates, as one scenario call per point.

    ``f(*args) = value(ex.call(scenario, **kwargs(*args)))``.  Written this way (rather than as
    a closure) it can also evaluate many points in one request (:meth:`many`, the ``many``
    scenario), which :func:`judge_numerical` hands to the gradient check as ``f_many``.
    """

    ex: Executor
    scenario: str
    kwargs: Callable[..., dict[str, Any]]
    value: Callable[[Any], Any]

    def __call__(self, *args: Any) -> Any:
        return self.value(self.ex.call(self.scenario, **self.kwargs(*args)))

    def many(self, points: list[list[Any]]) -> list[Any]:
        timeout = getattr(self.ex, "timeout", None)  # a worker's limit per call, if any
        replies = self.ex.call(
            "many", calls=[(self.scenario, self.kwargs(*p)) for p in points],
            time_limit=BATCH_TIME_SHARE * timeout if isinstance(timeout, (int, float)) else None,
        )
        return [self.value(r) for r in replies]


def judge_numerically(
    where: str,
    names: Sequence[str],
    case: Case,
    *,
    claimed: Callable[[], Sequence[Any]],
    f: Callable[..., Any],
    args: Sequence[Any],
    untrusted: tuple[type[Exception], ...] = (),
    max_evaluations: int | None = None,
) -> bool:
    """The numerical check of every family, in two steps; False when the example is not judged.

    1. ``claimed()`` judges the forward the check will differentiate (right at the case and
       :func:`nearby`, else it is not trusted) and returns the claimed gradients in their
       shapes.  Any verdict there is the forward and backward checks' to report.
    2. :func:`judge_numerical` compares those gradients with centred differences of ``f``
       (the scalar ``sum(forward(*args) * dout)``) at ``args``.  An ``f`` given as a
       :class:`ScenarioForward` has its points batched into few worker requests.
    """
    trusting: tuple[type[Exception], ...] = (CheckFailed, ContractError, StudentError, *untrusted)
    try:
        grads = list(claimed())
    except trusting:
        return False
    judge_numerical(where, names, f, args, grads, case, max_evaluations=max_evaluations)
    return True
