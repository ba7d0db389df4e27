"""Judging single elements: centred differences, the coarse confirmation, the kink rule."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify.gradcheck.numerics import (
    COARSE_FACTOR,
    COARSE_STEP,
    ELEMENT_SIGNIFICANCE,
    ELEMENT_STABLE_PAIRS,
    GRAD_ULPS,
    KINK_SHARE,
    PREFETCH_ELEMENTS,
    SHRINK,
    STABLE_FRACTION,
)
from bpverify.gradcheck.probe import ManyEvaluator, Point, Prober, point_key
from bpverify.gradcheck.results import GradMismatch, KinkElement
from bpverify.gradcheck.steps import KINK, PASS, UNCLEAR, Direction, Step, jump_kept

__all__ = ["Checker"]


class Checker(Prober):
    """A :class:`Prober` that also judges one element at a time."""

    def __init__(
        self,
        f: Callable[..., Any],
        natives: list[np.ndarray],
        kinds: list[int],
        grads: list[np.ndarray],
        max_evaluations: int,
        f_many: ManyEvaluator | None = None,
    ) -> None:
        super().__init__(f, natives, kinds, grads, max_evaluations, f_many)
        # Elements to be judged one by one, in order (with their positions), whose first
        # steps are prefetched in batches when f_many is given.
        self.upcoming: list[tuple[int, int]] = []
        self.upcoming_at: dict[tuple[int, int], int] = {}

    def plan_elements(self, elements: list[tuple[int, int]]) -> None:
        """Elements that will be judged in this order: prefetch their first steps."""
        self.upcoming = elements
        self.upcoming_at = {e: k for k, e in enumerate(elements)}

    def element_direction(self, a: int, i: int) -> Direction:
        return self.direction([(a, i, i + 1)], [self.scale(a)[i : i + 1].copy()])

    def prefetch_first_steps(self, a: int, i: int, d: Direction) -> None:
        """Unless cached, prefetch the first step of element i and of the planned ones after it.

        Not before f's output dtype is known: the first evaluation can change the step.
        """
        at = self.upcoming_at.get((a, i))
        if self.f_many is None or self.out_dtype is None or at is None:
            return
        first = self.step_points(d, [self.h0])
        if not first or point_key(first[0]) in self.prefetched:
            return
        points: list[Point] = [] if self._f0 is not None else [{}]  # f(x): cheap, often needed
        points += first
        for b, j in self.upcoming[at + 1 : at + PREFETCH_ELEMENTS]:
            if j not in self.excluded[b]:
                points += self.step_points(self.element_direction(b, j), [self.h0])
        self.prefetch(points)

    def judge_element(self, a: int, i: int) -> GradMismatch | KinkElement | None:
        """Judge one element: None if it passes, else a mismatch or kink record."""
        d = self.element_direction(a, i)
        self.prefetch_first_steps(a, i, d)
        verdict = self.probe(
            d, ELEMENT_STABLE_PAIRS, to_smallest=True, significance=ELEMENT_SIGNIFICANCE
        )
        if verdict.status == PASS:
            return None
        index = tuple(int(j) for j in np.unravel_index(i, self.shapes[a])) if self.shapes[a] else ()
        if verdict.status == KINK:
            return self._kink_record(a, i, index, verdict.steps[-2], verdict.steps, True)
        finite = [s for s in verdict.steps if s.finite]
        if verdict.status == UNCLEAR:
            if not finite:
                got = float(self.g64[a][i])
                return KinkElement(a, index, math.nan, math.nan, got, False, False)
            return self._kink_record(a, i, index, finite[-1], finite, False)

        # A stable disagreement over three fine steps: confirm at the coarse
        # step (see COARSE_FACTOR) before reporting it.
        fine = verdict.steps[verdict.stable_at]
        coarse_step = max(COARSE_STEP, COARSE_FACTOR * self.h0)
        self.prefetch_steps(d, [coarse_step / SHRINK**j for j in range(3)])
        big, small, smaller = (self.measure(d, coarse_step / SHRINK**j) for j in range(3))
        if not (big.finite and small.finite and smaller.finite):
            return self._kink_record(a, i, index, fine, finite, False)
        # Richardson: rho(t) = delta + c t^2 + O(t^4)  =>  delta ~ (4 rho(t/2) - rho(t)) / 3.
        # Two such values, from (t, t/2) and (t/2, t/4), differ by about 15/16
        # of the O(t^4) remainder of the first: that difference bounds it.
        first = (4.0 * small.residual - big.residual) / 3.0
        extrapolated = (4.0 * smaller.residual - small.residual) / 3.0
        bound = (4.0 * smaller.bound + small.bound) / 3.0 + abs(first - extrapolated)
        # A last chance to see a kink at x that the fine steps' noise hid
        # (see kink_at_x), where noise is low: J kept from t to t/4, or
        # J(t) = J0 + a t + b t^2 extrapolated to a J0 above five rounding
        # bounds.  The extrapolation is trusted only if its two first-order
        # values, 2 J(t/2) - J(t) and 2 J(t/4) - J(t/2), differ by less than
        # the J0 they give: a kink elsewhere, crossed by the largest coarse
        # step only, breaks that agreement instead of posing as a kink at x.
        jump_a = 2.0 * small.jump - big.jump
        jump_b = 2.0 * smaller.jump - small.jump
        jump0 = (4.0 * jump_b - jump_a) / 3.0
        extrapolation_holds = abs(jump_a - jump_b) <= abs(jump0)
        # The claim at one end of the one-sided slopes (rho = +-J0/2), as
        # ReLU'(0) = 0 or 1 puts it at a single kink: a coincidence for a
        # wrong claim on a smooth f, so evidence even when J0 is near noise.
        at_endpoint = extrapolation_holds and min(
            abs(extrapolated - jump0 / 2.0), abs(extrapolated + jump0 / 2.0)
        ) <= STABLE_FRACTION * abs(extrapolated)
        kink = (
            jump_kept(big, smaller)
            or (abs(jump0) > 5.0 * smaller.jump_bound and extrapolation_holds)
            or at_endpoint
        ) and max(abs(jump0), abs(smaller.jump)) >= KINK_SHARE * abs(fine.residual)
        big, small = small, smaller
        agree = abs(extrapolated - fine.residual) <= (
            STABLE_FRACTION * max(abs(extrapolated), abs(fine.residual)) + bound + fine.bound
        )
        if agree and abs(extrapolated) > bound:
            if kink:
                return self._kink_record(a, i, index, small, [big, small], True)
            got = float(self.g64[a][i])
            d_big = (big.f_plus - big.f_minus) / self._width(a, i, big.t)
            d_small = (small.f_plus - small.f_minus) / self._width(a, i, small.t)
            expected = (4.0 * d_small - d_big) / 3.0
            abs_error = abs(got - expected)
            denom = abs(got) + abs(expected)
            tolerance = bound * 2.0 * small.t / self._width(a, i, small.t)
            return GradMismatch(
                a, index, float(expected), got, float(abs_error),
                float(abs_error / denom) if denom else 0.0, float(tolerance),
            )  # fmt: skip
        if abs(extrapolated) <= bound + STABLE_FRACTION * abs(fine.residual):
            # The claim holds at the coarse scale, where the fine residual
            # vanished: truncation, or f could not resolve the fine steps.
            return None
        return self._kink_record(a, i, index, small, [big, small], False)

    def _kink_record(
        self, a: int, i: int, index: tuple[int, ...], s: Step, steps: list[Step], judged: bool
    ) -> KinkElement:
        """One-sided slopes at step s and the subgradient rule, in gradient units."""
        got = float(self.g64[a][i])
        up, down = self._side_widths(a, i, s.t)
        right = (s.f_plus - self.f0) / up
        left = (self.f0 - s.f_minus) / down
        # Tolerance: rounding of a one-sided quotient (2 sigma / h), the
        # claim's own rounding, and truncation.  A one-sided quotient is off by
        # about t phi''/2, and halving or doubling t moves it by half that
        # much, so the truncation is bounded by twice the move to the nearest
        # other step size (first-order Richardson).
        tolerance = (
            2.0 * self.sigma(max(abs(self.f0), abs(s.f_plus), abs(s.f_minus))) / min(up, down)
        )
        tolerance += GRAD_ULPS * self.eps_g * abs(got)
        others = [p for p in steps if p is not s and p.finite]
        if others:
            p = min(others, key=lambda q: abs(math.log(q.t / s.t)))
            p_up, p_down = self._side_widths(a, i, p.t)
            moved = max(
                abs((p.f_plus - self.f0) / p_up - right), abs((self.f0 - p.f_minus) / p_down - left)
            )
            tolerance += 2.0 * moved
        inside = min(left, right) - tolerance <= got <= max(left, right) + tolerance
        return KinkElement(
            a, index, float(left), float(right), got, bool(inside), judged, float(tolerance)
        )

    def _side_widths(self, a: int, i: int, t: float) -> tuple[float, float]:
        """Actual forward and backward displacement of element i at step t."""
        base = float(self.x64[a][i])
        step = t * float(self.scale(a)[i])
        dtype = self.dtypes[a]
        up = float(np.asarray(base + step).astype(dtype)) - base
        down = base - float(np.asarray(base - step).astype(dtype))
        return up, down

    def _width(self, a: int, i: int, t: float) -> float:
        up, down = self._side_widths(a, i, t)
        return up + down
