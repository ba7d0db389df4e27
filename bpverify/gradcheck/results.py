"""What :func:`~bpverify.gradcheck.check_gradient` returns, and the error it raises."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GradCheckInputError",
    "GradCheckResult",
    "GradMismatch",
    "KinkElement",
    "UnresolvedRegion",
]

# How many mismatches summary() lists before "and N more".
_SUMMARY_LIST_LIMIT = 10


class GradCheckInputError(ValueError):
    """Invalid input to :func:`check_gradient` (or an f output it cannot use)."""


@dataclass(frozen=True)
class GradMismatch:
    """One element whose claimed gradient disagrees with finite differences.

    ``expected`` is the numerical derivative (centred differences at the coarse
    step, Richardson-extrapolated), ``got`` the claimed one, ``rel_error`` is
    CS231n's ``|got - expected| / (|got| + |expected|)`` and ``tolerance`` the
    absolute error that rounding alone could explain.
    """

    arg: int
    index: tuple[int, ...]
    expected: float
    got: float
    abs_error: float
    rel_error: float
    tolerance: float = math.nan

    def describe(self) -> str:
        return (
            f"arg {self.arg} (index {self.index}): expected {self.expected:.6g} "
            f"(numerical), got {self.got:.6g}, rel. error {self.rel_error:.2g}"
        )


@dataclass(frozen=True)
class KinkElement:
    """An element judged by the kink (subgradient) rule, or one that could not be judged.

    ``left_slope`` and ``right_slope`` are the one-sided difference quotients
    ``(f(x) - f(x - h e_i)) / h`` and ``(f(x + h e_i) - f(x)) / h``.
    ``judged`` is True when they differ stably (a kink at, or within a few
    steps of, ``x``) and the subgradient rule applied: ``in_subgradient`` says
    whether ``got`` lies between them within ``tolerance``.  An element where
    several kinks meet can legitimately lie outside (the chain rule picks one
    subgradient per kink), so neither case counts as a mismatch unless
    ``strict_kinks`` is set.  ``judged`` is False when no verdict was reached
    (the residual kept changing with the step, or f was not finite nearby).
    """

    arg: int
    index: tuple[int, ...]
    left_slope: float
    right_slope: float
    got: float
    in_subgradient: bool
    judged: bool = True
    tolerance: float = math.nan

    def describe(self) -> str:
        where = "inside" if self.in_subgradient else "outside"
        state = "kink" if self.judged else "unjudged"
        return (
            f"arg {self.arg} (index {self.index}): {state}, one-sided slopes "
            f"[{self.left_slope:.6g}, {self.right_slope:.6g}], got {self.got:.6g} ({where})"
        )


@dataclass(frozen=True)
class UnresolvedRegion:
    """A block of one argument left unresolved when the evaluation budget ran out.

    ``flat_start:flat_stop`` indexes the argument flattened in C order.
    ``reason`` is ``"mismatch"`` when a stable disagreement was seen in the
    block (the gradient is wrong somewhere in it: the check fails), ``"kink"``
    or ``"unclear"`` when the block could not be judged as a whole.
    """

    arg: int
    flat_start: int
    flat_stop: int
    reason: Literal["mismatch", "kink", "unclear"]

    @property
    def elements(self) -> int:
        return self.flat_stop - self.flat_start


@dataclass(frozen=True)
class GradCheckResult:
    """Outcome of :func:`check_gradient`.

    ``ok`` is False iff some element was found wrong (``mismatches``), or the
    budget ran out before a seen disagreement was located (``unresolved`` with
    reason ``"mismatch"``), or, with ``strict_kinks=True``, a claim at a kink
    lies outside the one-sided slopes.  ``step`` is the base relative step
    ``eps^(1/3)`` and ``dtype`` the working precision.  ``resolution[a]`` is an
    absolute error in one element of argument ``a`` (of typical magnitude)
    that the first directions are sure to notice; smaller errors may pass.
    """

    ok: bool
    mismatches: tuple[GradMismatch, ...]
    kinks: tuple[KinkElement, ...]
    evaluations: int
    directions_checked: int
    step: float
    dtype: str
    elements: int
    seed: int
    resolution: tuple[float, ...] = ()
    unresolved: tuple[UnresolvedRegion, ...] = ()

    def summary(self) -> str:
        head = "gradient check passed" if self.ok else "gradient check FAILED"
        parts = [
            f"{head}: {self.elements} elements, {self.evaluations} evaluations of f "
            f"({self.directions_checked} random directions, {self.dtype}, "
            f"relative step {self.step:.2g}, seed {self.seed})."
        ]
        if self.mismatches:
            count = len(self.mismatches)
            listed = "; ".join(m.describe() for m in self.mismatches[:_SUMMARY_LIST_LIMIT])
            more = count - _SUMMARY_LIST_LIMIT
            parts.append(
                f"{count} mismatch{'es' if count != 1 else ''}: {listed}"
                f"{f'; and {more} more' if more > 0 else ''}."
            )
        if self.kinks:
            judged = sum(k.judged for k in self.kinks)
            outside = sum(k.judged and not k.in_subgradient for k in self.kinks)
            text = (
                f"Not counted as mismatches: {judged} element(s) at kinks, judged by the "
                "subgradient rule"
            )
            if outside:
                text += (
                    f" ({outside} with the claim outside the one-sided slopes, which an "
                    "element where several kinks meet may legitimately be)"
                )
            if len(self.kinks) > judged:
                text += f", and {len(self.kinks) - judged} element(s) that could not be judged"
            listed = "; ".join(k.describe() for k in self.kinks[:3])
            parts.append(f"{text}; e.g. {listed}.")
        if self.unresolved:
            count = sum(r.elements for r in self.unresolved)
            reasons = ", ".join(sorted({r.reason for r in self.unresolved}))
            parts.append(
                f"Evaluation budget exhausted: {count} elements in {len(self.unresolved)} "
                f"block(s) unresolved ({reasons}); raise max_evaluations to finish."
            )
        if not self.ok and not self.mismatches and not self.unresolved:
            parts.append("A claim at a kink lies outside its one-sided slopes (strict_kinks).")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.summary()
