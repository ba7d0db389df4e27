"""What a probe measures along one direction, and how a run of steps is classified."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from bpverify.gradcheck.numerics import (
    KINK_SHARE,
    NOISE_AGREEMENT,
    NOISE_COVERAGE,
    NOISE_MAX_ORDER,
)

PASS, FAIL, KINK, UNCLEAR = "pass", "fail", "kink", "unclear"

# A segment is (arg, flat_start, flat_stop); a direction is one float64 vector
# (entries already multiplied by the element scales) per segment.
Segment = tuple[int, int, int]


@dataclass
class Step:
    """What one step size along one direction measured (t-units: per unit t)."""

    t: float
    f_plus: float
    f_minus: float
    claim_plus: float  # g . (x+ - x), from the perturbation after dtype rounding
    claim_minus: float  # g . (x- - x)
    residual: float  # rho = D - c
    jump: float  # J: right minus left one-sided slope, minus the claimed difference
    bound: float  # rounding bound on rho
    jump_bound: float  # rounding bound on J
    finite: bool


@dataclass
class Verdict:
    status: str
    steps: list[Step]
    stable_at: int = -1  # first step of the stable run (fail / kink)


@dataclass
class Direction:
    """A direction over some segments, with what every step along it reuses."""

    segments: list[Segment]
    vs: list[np.ndarray]
    gv: list[float]  # g . v per segment
    claim_bound: float  # rounding of g . v from the claim and the dot product, per unit t
    placement: float  # rounding of x + t v in float64, bounded by eps64 sum |g v|


class BudgetExhausted(Exception):
    pass


def kink_like(first: Step, last: Step) -> bool:
    """Does a stable residual look like a kink at x rather than a wrong claim?

    At a kink the claim lies between the one-sided slopes, |rho| <= |J|/2
    (2|rho| = |J| when it is one of them); |rho| <= |J| leaves room for noise.
    A wrong claim on a smooth f has |J| = t|phi''| << |rho|.  And J must not
    shrink with the step: between "kept" (J unchanged from the first step of
    the run to the last) and "smooth" (J proportional to t) it must be closer
    to "kept".
    """
    if abs(first.jump) < abs(first.residual):
        return False
    shrunk = first.jump * (last.t / first.t)
    return abs(last.jump - first.jump) <= abs(last.jump - shrunk)


def jump_kept(first: Step, last: Step) -> bool:
    """Is the slope jump J unchanged from a step t to the step t/4?

    For smooth phi, J = t phi'' loses 75% over that range; a kink at x keeps
    its jump.  "Kept" means J changed by less than half (allowing for about a
    standard deviation of noise) and is above its rounding bound at t.  Used
    at the coarse steps, where a smooth phi's J is large and noise small; at
    the fine steps a smooth J is often just a few rounding bounds, too close
    to tell "kept" from "shrunk".
    """
    change = abs(last.jump - first.jump)
    noise = (first.jump_bound + last.jump_bound) / NOISE_COVERAGE
    return abs(first.jump) > first.jump_bound and change <= 0.5 * abs(first.jump) + noise


def kink_at_x(run: list[Step]) -> bool:
    """Do the one-sided slopes along one element's run clearly differ at x itself?

    Each step pair (t, t/2) extrapolates the slope jump to t = 0:
    J0 ~ 2 J(t/2) - J(t), which removes the curvature term of J(t) = J0 + a t.
    A kink gives the same nonzero value from every pair, a smooth f values
    scattered around 0 (their spread is the empirical noise).  Where the claim
    lies does not matter: where several kinks meet, a correct chain-rule claim
    can lie outside the one-sided slopes, even far outside when their jumps
    cancel.  Cases this cannot settle at the fine steps' noise go on to the
    coarse confirmation, which looks again (see Checker.judge_element).
    """
    estimates = [2.0 * b.jump - a.jump for a, b in itertools.pairwise(run)]
    mean = sum(estimates) / len(estimates)
    spread = max(estimates) - min(estimates)
    return (
        abs(mean) > 2.0 * spread
        and abs(mean) > run[0].jump_bound / NOISE_COVERAGE
        and abs(mean) >= KINK_SHARE * abs(run[0].residual)
    )


def ecnoise(values: np.ndarray) -> float:
    """Noise level (rms) of equally spaced function values, after More & Wild."""
    if not np.isfinite(values).all():
        return 0.0
    levels, sign_change = [], []
    gamma = 1.0
    table = values
    for order in range(1, NOISE_MAX_ORDER + 1):
        table = np.diff(table)
        # gamma_k = (k!)^2 / (2k)!, so that gamma_k * E[(k-th difference)^2]
        # is the noise variance for independent noise.
        gamma *= 0.5 * order / (2 * order - 1)
        levels.append(math.sqrt(gamma * float(np.mean(np.square(table)))))
        sign_change.append(bool(table.min() < 0.0 < table.max()))
    for k in range(len(levels) - 2):
        low, high = min(levels[k : k + 3]), max(levels[k : k + 3])
        if sign_change[k] and high <= NOISE_AGREEMENT * low:
            return levels[k]
    # No order where noise dominates: smooth variation hides it, so the
    # smallest level bounds it from above (0 when f was exactly flat).
    return min(levels)
