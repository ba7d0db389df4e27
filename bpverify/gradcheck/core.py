"""Fast, kink-aware numerical gradient check that names the wrong elements.

``check_gradient(f, args, grads)`` checks claimed gradients of a scalar NumPy
function against finite differences of ``f`` itself.  It is built for large
inputs (a correct gradient of a 300k-parameter net costs 2 evaluations of ``f``)
and for nets with ReLU / max / hinge kinks (a difference that straddles a kink
never produces a failure).

Method
------
Flatten all arguments into one vector ``x`` in R^n, write ``F(x) = f(*args)`` and
``g`` for the claimed gradient.  For a direction ``v`` and the line
``phi(t) = F(x + t v)`` the centred difference satisfies

    D(t) = (phi(t) - phi(-t)) / (2t)
         = grad F . v  +  t^2 phi'''(xi) / 6  +  (eta_+ - eta_-) / (2t)          (1)

where ``eta_+-`` are the rounding errors of the two evaluations of ``f``.  The
claimed directional derivative ``c = g . v`` is computed in float64 (from the
perturbation actually applied, when arguments are rounded to a coarser dtype),
so the residual ``rho = D - c`` is ``-(g - grad F) . v`` plus truncation plus
rounding.  A single wrong element ``i`` with error ``e_i`` shows up as
``|rho| = |e_i v_i|``, however large ``n`` is.

*Step.*  With ``|eta| <= sigma`` the error of (1) is at most
``sigma / t + t^2 |phi'''| / 6``, smallest at ``t* = (3 sigma / |phi'''|)^(1/3)``:
``t ~ eps^(1/3)`` when ``phi`` varies on the scale of the arguments themselves.
So element ``i`` moves by ``eps^(1/3) * max(|x_i|, rms(x_arg)) * u_i``: relative
to its own magnitude, with its argument's rms as a floor near zero.  ``eps`` is
the *working precision*: the coarsest of the arguments' dtypes and the dtype of
``f``'s output (a float32 forward gets float32 steps and tolerances).

*Tolerance.*  ``B(t) = sigma / t + (rounding of g . v)``: no truncation term and
no safety factor, so a residual above ``B`` is only *suspicious*.  ``sigma``
starts as a worst-case model (``ROUNDING_ULPS * eps * (1 + |F|)``); the first
time a residual exceeds it, f's actual noise is measured once (ECnoise) and
used from then on.  A suspicious residual is re-measured with the step halved
(``t, t/2, ..., t/16``) and classified by how it scales:

* truncation shrinks like ``t^2`` and a straddled kink near ``x`` disappears
  once ``t`` is below its distance: the residual falls inside ``B``: *pass*;
* a wrong claim gives the same residual at every step: *fail*;
* a kink exactly at ``x`` also gives a constant residual, but the one-sided
  slopes ``(phi(t) - phi(0)) / t`` and ``(phi(0) - phi(-t)) / t`` then differ
  by a jump ``J`` that does not shrink with ``t`` (for smooth ``phi``,
  ``J = t phi''``): *kink*.

*Localisation.*  ``directions`` random directions over all ``n`` elements are
checked first (one by default).  When one does not pass, adaptive group testing
finds the culprits: split the support by argument, then into contiguous halves,
and probe each half with a fresh random direction, descending into every half
that does not pass.  ``k`` wrong elements cost ``O(k log2 n)`` probes instead
of the ``2n`` evaluations of an element-by-element check.  Each located element
is judged by its own centred differences.  A mismatch needs a residual that
stays put over the fine steps down to the smallest, and reappears,
Richardson-extrapolated, at coarse steps; that rules out truncation, kinks
merely near ``x``, and fine-scale artefacts of f's arithmetic.  An element
whose one-sided slopes differ at ``x`` goes to ``kinks`` (the subgradient rule:
the claim should lie between them), never to ``mismatches``.  Judged elements
are then left out of fresh directions over everything, which repeat until a
round finds no new mismatch.  With at most ``elementwise_limit`` elements,
every element is judged directly.

Random directions have entries ``+-[1, 2)``: a lone error is never scaled below
its size and, unlike ``+-1`` entries, equal errors cannot cancel exactly.
``f(x)`` itself is evaluated only when a residual is suspicious.
"""

from __future__ import annotations

import itertools
import math
import numbers
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "GradCheckInputError",
    "GradCheckResult",
    "GradMismatch",
    "KinkElement",
    "UnresolvedRegion",
    "check_gradient",
]

# --------------------------------------------------------------------------- #
# Numerical constants
# --------------------------------------------------------------------------- #

# Exponent of the step: balancing rounding O(eps/t) against truncation O(t^2)
# of a centred difference gives t ~ eps^(1/3) (see the module docstring).
_STEP_EXPONENT = 1.0 / 3.0

# Worst-case rounding error of one evaluation of f, in ulps of 1 + the largest
# |f| seen (see _Checker.sigma), used until f's noise has been measured.  On
# softmax-loss nets the residual of correct gradients stays below
# 1.4 eps |f| / t (float64); 4 leaves room for longer reductions.
_ROUNDING_ULPS = 4.0

# Noise calibration (ECnoise: More & Wild, "Estimating computational noise",
# SIAM J. Sci. Comput. 33(3), 2011), run once per check, and only when a
# residual first exceeds the model above.  f can be far noisier than its output
# dtype says: a float32 forward whose float64 output adds a float64
# regulariser; intermediates too coarse to register a tiny step.  Along a
# dense random direction, f is evaluated at x + j*s*v, j = 1.._NOISE_POINTS,
# on each side of x with s = h0 / _NOISE_POINTS, which is the window the probes
# use, so the noise is seen at the scale where it matters (a float32 part of f
# is exactly flat at much finer spacings).  One-sided sweeps keep a kink at x
# itself out of the table.  The larger of the two estimates is kept: a float32
# part of f can happen to stay flat over one side's sweep, and an underestimate
# would turn noise into false alarms, while a kink near x on one side can only
# inflate the estimate (less precision, never a false alarm).  The level is
# read off the difference table at the first order where three consecutive
# orders agree within a factor _NOISE_AGREEMENT and the differences change sign.
_NOISE_POINTS = 8
_NOISE_MAX_ORDER = 6
_NOISE_AGREEMENT = 4.0

# The calibrated level is an rms.  As a bound on one evaluation's error take
# this many of it: the error of D, (eta+ - eta-)/2t, then has 5.7 standard
# deviations of room.  Once calibrated, this replaces the _ROUNDING_ULPS model
# (floored at one ulp of |f|).
_NOISE_COVERAGE = 4.0

# Relative accuracy assumed for each claimed gradient element, in ulps of the
# gradient's dtype.  Backprop sums a few products per element, and its errors
# are independent across elements, so they add up as an l2 norm in g . v.
_GRAD_ULPS = 8.0

# The step is divided by this at each refinement.  Halving keeps precision:
# rounding error only doubles per refinement, while truncation drops 4x and a
# straddled kink at distance d is cleared once t < d.
_SHRINK = 2.0

# Refinements after the first step (steps t, t/2, ..., t/16).  A kink is
# cleared unless it lies within t/16 of x; one that close behaves like a kink
# at x (the one-sided slopes disagree at every step tried).
_MAX_REFINEMENTS = 4

# Two residuals at consecutive steps are "the same" when they differ by at
# most this fraction, plus about one standard deviation of noise each
# (bound / _NOISE_COVERAGE).  Truncation changes by 1 - 1/_SHRINK^2 = 75%
# between steps and a cleared kink by 100%, a wrong claim by nothing.
_STABLE_FRACTION = 0.25

# Stable step pairs needed before a probe stops refining: one for a group
# (whose verdict only decides whether to split it); for an element, two, in a
# run that reaches the smallest step (t/16), before it goes on to the coarse
# confirmation: a run stopped earlier can still be straddling a kink near x,
# and in float32 the noise allowance lets a slowly clearing residual look
# stable.
_GROUP_STABLE_PAIRS = 1
_ELEMENT_STABLE_PAIRS = 2

# An element's run must also start with a residual at least this many times
# its rounding bound.  Near the bound, "stable" is weak evidence (the noise
# allowance is then comparable to the residual itself), and a truncation
# residual just above it would otherwise open a run.  Groups need only 1x:
# their verdict decides where to look, not what to report.
_ELEMENT_SIGNIFICANCE = 2.0

# Coarse confirmation of an element mismatch: the residual must reappear,
# Richardson-extrapolated from steps tc and tc/2 (which removes the t^2
# truncation term), with tc = max(eps32^(1/3), _COARSE_FACTOR * h0): the step
# float32 arithmetic needs.  A wrong claim gives the same residual at every
# scale.  Truncation that looked stable over the fine steps extrapolates away,
# and so does the artefact of a forward that rounds intermediates to float32
# but returns float64: under a float64-sized step of one element it is exactly
# flat, a stable "derivative 0", while its true slope shows at tc.  Noise at
# tc is hundreds of times lower, which also makes the kink test there sharp.
# One element straddles few kinks, so a large step is safe.
_COARSE_STEP = float(np.finfo(np.float32).eps) ** _STEP_EXPONENT
_COARSE_FACTOR = 4.0

# A kink at x must account for at least this share of an element's
# disagreement: its one-sided slopes must differ by at least 1% of how far the
# claim is off.  Where several kinks meet, a correct claim can lie outside the
# one-sided slopes (their jumps partly cancel), but not by 100 times their
# difference; below that share f is smooth to that precision along the
# element, and the claim is simply wrong (a kink crossed by a coarse step
# somewhere near x must not excuse it).
_KINK_SHARE = 0.01

# Groups with at most this many open elements are judged element by element
# rather than split again: a probe and an element check cost about the same.
_LEAF_SIZE = 4

# Rounds of (random directions, then localisation) at most.  A new round is
# started only after one that found new mismatches: errors that cancelled in
# one round's directions get fresh ones, and the found elements are excluded.
_MAX_ROUNDS = 8

# One random direction over everything before a gradient is accepted.  With
# entries +-[1, 2) it sees any single wrong element above the resolution with
# certainty; several wrong elements escape it only if their contributions
# nearly cancel, with probability about (resolution / error size).  Each
# further direction squares that probability and costs 2 more evaluations;
# after a mismatch is found, every round draws fresh directions anyway.
_DEFAULT_DIRECTIONS = 1
_DEFAULT_ELEMENTWISE_LIMIT = 64
_DEFAULT_MAX_EVALUATIONS = 20_000

_EPS64 = float(np.finfo(np.float64).eps)
_EPS32 = float(np.finfo(np.float32).eps)

# How many mismatches summary() lists before "and N more".
_SUMMARY_LIST_LIMIT = 10


# --------------------------------------------------------------------------- #
# Public result types
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# Input validation (the public boundary)
# --------------------------------------------------------------------------- #

_KIND_PYFLOAT = 0  # Python int/float: f receives a Python float
_KIND_NPSCALAR = 1  # NumPy scalar: f receives a NumPy scalar of the same type
_KIND_ARRAY = 2  # ndarray (any shape, 0-d included): f receives an ndarray


def _fail(message: str) -> GradCheckInputError:
    return GradCheckInputError(f"check_gradient: {message}")


def _validate_arg(i: int, value: Any) -> tuple[np.ndarray, int]:
    """Return (contiguous native-dtype copy, kind) for args[i]."""
    if value is None:
        raise _fail(f"args[{i}] is None; expected a float array or a Python float.")
    if isinstance(value, (bool, np.bool_)):
        raise _fail(f"args[{i}] is a bool; expected a float array or a Python float.")
    if isinstance(value, numbers.Real) and not isinstance(value, np.generic):
        array, kind = np.array(float(value), dtype=np.float64), _KIND_PYFLOAT
    elif isinstance(value, np.generic):
        array, kind = np.array(value), _KIND_NPSCALAR
    elif isinstance(value, np.ndarray):
        # No copy: f only ever sees copies, so nothing writes to the caller's
        # array during the check.
        contiguous = value.flags["C_CONTIGUOUS"]
        array, kind = (value if contiguous else np.array(value, order="C")), _KIND_ARRAY
    else:
        raise _fail(
            f"args[{i}] has type {type(value).__name__}; expected a NumPy float array, "
            "a NumPy float scalar or a Python float."
        )
    if array.dtype.kind != "f":
        raise _fail(
            f"args[{i}] has dtype {array.dtype}; expected a floating dtype "
            f"(float16/32/64). Convert it, e.g. args[{i}].astype(np.float64)."
        )
    if not _all_finite(array):
        raise _fail(f"args[{i}] contains NaN or infinity; expected finite values.")
    return array, kind


def _validate_grad(i: int, value: Any, arg: np.ndarray) -> np.ndarray:
    """Return the claimed gradient for args[i] as an array of arg's shape."""
    if value is None:
        raise _fail(
            f"grads[{i}] is None; expected an array of shape {arg.shape} "
            f"(the shape of args[{i}]). A parameter with no gradient needs zeros."
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise _fail(f"grads[{i}] cannot be read as an array ({exc}).") from None
    if array.dtype.kind not in "fiu":
        raise _fail(
            f"grads[{i}] has dtype {array.dtype}; expected a real floating dtype "
            f"and shape {arg.shape}."
        )
    if array.shape != arg.shape:
        raise _fail(
            f"grads[{i}] has shape {array.shape}, expected {arg.shape} (the shape of args[{i}])."
        )
    if not _all_finite(array):
        bad = np.argwhere(~np.isfinite(array))
        first = tuple(int(j) for j in bad[0])
        raise _fail(
            f"grads[{i}] contains {len(bad)} NaN/infinite value(s) "
            f"(first at index {first}); expected finite values."
        )
    return array


def _all_finite(array: np.ndarray) -> bool:
    # A finite sum proves every element finite without a temporary mask; an
    # overflowing sum of finite values falls back to the elementwise test.
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.sum(array, dtype=np.float64))):
            return True
    return bool(np.isfinite(array).all())


def _int_option(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(f"{name}={value!r}; expected an int >= {minimum}.")
    if value < minimum:
        raise _fail(f"{name}={value}; expected an int >= {minimum}.")
    return int(value)


def _scalar_output(out: Any) -> tuple[float, np.dtype]:
    """Convert f's output to (float value, dtype it was computed in)."""
    if isinstance(out, float):
        return out, np.dtype(np.float64)
    if isinstance(out, (bool, np.bool_)):
        raise _fail("f returned a bool; expected a scalar float (the loss).")
    try:
        array = np.asarray(out)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "fiu":
        raise _fail(
            f"f returned {type(out).__name__} (dtype {array.dtype}); expected a real "
            "floating scalar (a Python float, a NumPy scalar or a size-1 array)."
        )
    if array.size != 1:
        raise _fail(
            f"f returned an array of shape {array.shape}; expected a scalar "
            "(a Python float, a NumPy scalar or a size-1 array)."
        )
    dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)
    return float(array.reshape(())), dtype


def _looks_float32(values: np.ndarray) -> bool:
    """True if float64 values carry float32 precision only.

    A forward (or backward) that computes in float32 and casts its result back
    to float64 has float32 accuracy although its dtype says float64.  Its values
    are exactly representable in float32; a genuine float64 result is so with
    probability about 2^-29.  Values that float16 represents exactly as well
    (0.25, 14.0, sums of small integers) are exact anyway and prove nothing.
    """
    if values.size == 0:
        return False
    as32 = values.astype(np.float32).astype(np.float64)
    as16 = values.astype(np.float16).astype(np.float64)
    return bool(np.array_equal(as32, values)) and not bool(np.array_equal(as16, values))


def _eps(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps)


_DTYPE_NAMES = {_eps(np.dtype(name)): name for name in ("float16", "float32", "float64")}


# --------------------------------------------------------------------------- #
# Probes
# --------------------------------------------------------------------------- #

_PASS, _FAIL, _KINK, _UNCLEAR = "pass", "fail", "kink", "unclear"

# A segment is (arg, flat_start, flat_stop); a direction is one float64 vector
# (entries already multiplied by the element scales) per segment.
_Segment = tuple[int, int, int]


@dataclass
class _Step:
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
class _Verdict:
    status: str
    steps: list[_Step]
    stable_at: int = -1  # first step of the stable run (fail / kink)


@dataclass
class _Direction:
    """A direction over some segments, with what every step along it reuses."""

    segments: list[_Segment]
    vs: list[np.ndarray]
    gv: list[float]  # g . v per segment
    claim_bound: float  # rounding of g . v from the claim and the dot product, per unit t
    placement: float  # rounding of x + t v in float64, bounded by eps64 sum |g v|


class _BudgetExhausted(Exception):
    pass


def _kink_like(first: _Step, last: _Step) -> bool:
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


def _jump_kept(first: _Step, last: _Step) -> bool:
    """Is the slope jump J unchanged from a step t to the step t/4?

    For smooth phi, J = t phi'' loses 75% over that range; a kink at x keeps
    its jump.  "Kept" means J changed by less than half (allowing for about a
    standard deviation of noise) and is above its rounding bound at t.  Used
    at the coarse steps, where a smooth phi's J is large and noise small; at
    the fine steps a smooth J is often just a few rounding bounds, too close
    to tell "kept" from "shrunk".
    """
    change = abs(last.jump - first.jump)
    noise = (first.jump_bound + last.jump_bound) / _NOISE_COVERAGE
    return abs(first.jump) > first.jump_bound and change <= 0.5 * abs(first.jump) + noise


def _kink_at_x(run: list[_Step]) -> bool:
    """Do the one-sided slopes along one element's run clearly differ at x itself?

    Each step pair (t, t/2) extrapolates the slope jump to t = 0:
    J0 ~ 2 J(t/2) - J(t), which removes the curvature term of J(t) = J0 + a t.
    A kink gives the same nonzero value from every pair, a smooth f values
    scattered around 0 (their spread is the empirical noise).  Where the claim
    lies does not matter: where several kinks meet, a correct chain-rule claim
    can lie outside the one-sided slopes, even far outside when their jumps
    cancel.  Cases this cannot settle at the fine steps' noise go on to the
    coarse confirmation, which looks again (see judge_element).
    """
    estimates = [2.0 * b.jump - a.jump for a, b in itertools.pairwise(run)]
    mean = sum(estimates) / len(estimates)
    spread = max(estimates) - min(estimates)
    return (
        abs(mean) > 2.0 * spread
        and abs(mean) > run[0].jump_bound / _NOISE_COVERAGE
        and abs(mean) >= _KINK_SHARE * abs(run[0].residual)
    )


def _ecnoise(values: np.ndarray) -> float:
    """Noise level (rms) of equally spaced function values, after More & Wild."""
    if not np.isfinite(values).all():
        return 0.0
    levels, sign_change = [], []
    gamma = 1.0
    table = values
    for order in range(1, _NOISE_MAX_ORDER + 1):
        table = np.diff(table)
        # gamma_k = (k!)^2 / (2k)!, so that gamma_k * E[(k-th difference)^2]
        # is the noise variance for independent noise.
        gamma *= 0.5 * order / (2 * order - 1)
        levels.append(math.sqrt(gamma * float(np.mean(np.square(table)))))
        sign_change.append(bool(table.min() < 0.0 < table.max()))
    for k in range(len(levels) - 2):
        low, high = min(levels[k : k + 3]), max(levels[k : k + 3])
        if sign_change[k] and high <= _NOISE_AGREEMENT * low:
            return levels[k]
    # No order where noise dominates: smooth variation hides it, so the
    # smallest level bounds it from above (0 when f was exactly flat).
    return min(levels)


class _Buffers(threading.local):
    """Work arrays kept between calls, one set per thread.

    A fresh multi-megabyte array costs a page fault per 4 KiB page on first
    touch (glibc serves large requests with mmap until some large block has
    been freed), which on big arguments costs more than the arithmetic.  Work
    arrays that f never sees (element scales, directions, random draws) are
    therefore reused; the arrays f receives are always new.
    """

    def __init__(self) -> None:
        self.arrays: dict[tuple[str, int, str], np.ndarray] = {}
        self.in_use = False

    def get(self, key: tuple[str, int], size: int, dtype: type = np.float64) -> np.ndarray:
        full_key = (key[0], key[1], np.dtype(dtype).str)
        buf = self.arrays.get(full_key)
        if buf is None or buf.size < size:
            buf = self.arrays[full_key] = np.empty(size, dtype=dtype)
        return buf[:size]


_BUFFERS = _Buffers()


class _Checker:
    """The problem (f, point, claimed gradient) and the probes run on it."""

    def __init__(
        self,
        f: Callable[..., Any],
        natives: list[np.ndarray],
        kinds: list[int],
        grads: list[np.ndarray],
        max_evaluations: int,
    ) -> None:
        self.f = f
        self.natives = natives
        self.kinds = kinds
        self.shapes = [a.shape for a in natives]
        self.dtypes = [a.dtype for a in natives]
        # Views, not copies, for float64 arguments (they are never written).
        self.x64 = [a.reshape(-1).astype(np.float64, copy=False) for a in natives]
        self.g64 = [np.asarray(g, dtype=np.float64).reshape(-1) for g in grads]
        self.sizes = [x.size for x in self.x64]
        self.max_evaluations = max_evaluations
        self.evaluations = 0

        # Magnitude floor per argument: its rms; for an all-zero argument
        # (biases often start at 0) the largest rms among the others, since a
        # bias adds to products of those; 1 if everything is zero.
        rms = [math.sqrt(float(np.dot(x, x)) / x.size) if x.size else 0.0 for x in self.x64]
        fallback = max([r for r in rms if r > 0.0], default=1.0)
        self.floor = [r if r > 0.0 else fallback for r in rms]
        self._scales: list[np.ndarray | None] = [None] * len(natives)
        # Shared work arrays, unless a check is already running in this
        # thread (f itself calling check_gradient): then private ones.
        self._buffers = _BUFFERS if not _BUFFERS.in_use else _Buffers()
        self._g_scale_sq: dict[int, float] = {}

        # Working precision of f: the coarsest argument dtype for now; the
        # output dtype is folded in by the first evaluation (_learn_output).
        # Claimed gradients are trusted to their own dtype's precision, and
        # never beyond f's.
        self.eps_f = max([_eps(d) for d in self.dtypes], default=_EPS64)
        grad_eps = [_eps(g.dtype) for g in grads if g.dtype.kind == "f"]
        self.eps_g = max(grad_eps, default=_EPS64)
        if self.eps_g < _EPS32 and any(_looks_float32(g[:4096]) for g in self.g64 if g.size):
            self.eps_g = _EPS32
        self._f0: float | None = None  # f(x): evaluated only when needed
        self.out_dtype: np.dtype | None = None  # learnt from the first evaluation
        self.precision_changed = False
        self.magnitude = 0.0  # largest |f| seen
        self.h0 = math.nan  # set by set_precision

        self.noise = 0.0  # measured rms noise of one evaluation of f
        self.calibrated = False
        self.noise_rng: np.random.Generator | None = None
        # Elements already judged (mismatch or kink): zero in later directions,
        # so that they neither re-trigger probes nor hide other errors.
        self.excluded: list[set[int]] = [set() for _ in natives]
        self._excluded_sorted: list[np.ndarray | None] = [None] * len(natives)

    # -- noise ------------------------------------------------------------ #

    def sigma(self, magnitude: float) -> float:
        """Bound on the rounding error of one evaluation of f of this magnitude.

        Errors scale with 1 + |f|, not |f| (Gill, Murray & Wright, Practical
        Optimization, 8.5): a loss near 0 is still computed from O(1)
        intermediates (probabilities, log-sum-exp), whose rounding it keeps.
        """
        scale = 1.0 + magnitude
        if self.calibrated:
            return max(_NOISE_COVERAGE * self.noise, self.eps_f * scale)
        return _ROUNDING_ULPS * self.eps_f * scale

    def calibrate(self) -> None:
        """Measure f's noise along a dense random direction (see _NOISE_POINTS)."""
        self.calibrated = True
        assert self.noise_rng is not None
        segments = [(a, 0, size) for a, size in enumerate(self.sizes) if size > 0]
        d = self.random_direction(self.noise_rng, segments, buffer="calibration")
        if not any(v.any() for v in d.vs):
            return
        spacing = self.h0 / _NOISE_POINTS
        estimates = []
        for side in (1.0, -1.0):
            values = [self.f0]
            for j in range(1, _NOISE_POINTS + 1):
                values.append(self._side(d, side * j * spacing)[0])
            estimates.append(_ecnoise(np.array(values)))
        self.noise = max(estimates)

    # -- evaluation ------------------------------------------------------- #

    def _scratch(self, key: tuple[str, int], size: int, dtype: type = np.float64) -> np.ndarray:
        """A reusable work array of `size` elements under `key` (never given to f)."""
        return self._buffers.get(key, size, dtype)

    def scale(self, a: int) -> np.ndarray:
        """Per-element magnitude max(|x_i|, floor_a), computed on first use."""
        s = self._scales[a]
        if s is None:
            s = np.abs(self.x64[a], out=self._scratch(("scale", a), self.sizes[a]))
            np.maximum(s, self.floor[a], out=s)
            self._scales[a] = s
        return s

    def _call(self, replaced: dict[int, np.ndarray]) -> tuple[float, np.dtype]:
        """Evaluate f; ``replaced`` maps args to fresh flat native-dtype arrays."""
        if self.evaluations >= self.max_evaluations:
            raise _BudgetExhausted
        call_args: list[Any] = []
        for a, native in enumerate(self.natives):
            # Always a fresh array: f may mutate its inputs.
            arr = replaced[a].reshape(self.shapes[a]) if a in replaced else native.copy()
            kind = self.kinds[a]
            if kind == _KIND_PYFLOAT:
                call_args.append(float(arr))
            elif kind == _KIND_NPSCALAR:
                call_args.append(arr[()])
            else:
                call_args.append(arr)
        self.evaluations += 1
        value, dtype = _scalar_output(self.f(*call_args))
        if self.out_dtype is None:
            self._learn_output(value, dtype)
        if math.isfinite(value):
            self.magnitude = max(self.magnitude, abs(value))
        return value, dtype

    def set_precision(self, eps: float) -> None:
        self.eps_f = eps
        self.eps_g = max(self.eps_g, eps)
        self.h0 = eps**_STEP_EXPONENT

    def _learn_output(self, value: float, dtype: np.dtype) -> None:
        """Fold f's output dtype (and float32-looking values) into the precision."""
        self.out_dtype = dtype
        eps = max(self.eps_f, _eps(dtype))
        if eps < _EPS32 and math.isfinite(value) and _looks_float32(np.array([value])):
            eps = _EPS32  # float64 output with float32 accuracy
        if eps != self.eps_f:
            self.set_precision(eps)
            self.precision_changed = True  # the probe under way restarts

    @property
    def f0(self) -> float:
        """f at the point itself, evaluated on first use.

        A passing direction needs only f(x +- t v); f(x) enters the one-sided
        slopes, the slope jump and the noise calibration, which only a
        suspicious residual calls for.
        """
        if self._f0 is None:
            value, _ = self._call({})
            if not math.isfinite(value):
                raise _fail(
                    f"f(*args) returned {value}; a gradient can only be checked where f is finite."
                )
            self._f0 = value
        return self._f0

    def direction(self, segments: list[_Segment], vs: list[np.ndarray]) -> _Direction:
        gv_dots, l2, count = [], 0.0, 0
        for (a, start, stop), v in zip(segments, vs):
            g = self.g64[a][start:stop]
            gv_dots.append(float(np.dot(g, v)))
            if stop - start == self.sizes[a]:
                # |v_i| < 2 scale_i: bound ||g v|| by twice ||g scale||, which
                # is the same for every direction (saves a pass per direction).
                l2 += 4.0 * self._g_scale_l2(a)
            else:
                gv = g * v
                l2 += float(np.dot(gv, gv))
            count += stop - start
        l2 = math.sqrt(l2)
        # Errors of the claimed elements add in quadrature.  A float64 sum of
        # the products g_i v_i errs by at most eps64 * sum |g v|, and
        # sum |g v| <= sqrt(n) ||g v||_2.
        claim_bound = (_GRAD_ULPS * self.eps_g + _EPS64 * math.sqrt(count)) * l2
        # In float64, x + t v is rounded by at most eps64 |x_i + t v_i| / 2 per
        # element, and |x_i| <= |v_i| (scale >= |x|, |u| >= 1): the claim
        # t g . v is then off by at most eps64 sum |g v| per side.
        placement = _EPS64 * math.sqrt(count) * l2
        return _Direction(segments, vs, gv_dots, claim_bound, placement)

    def _g_scale_l2(self, a: int) -> float:
        """||g_a * scale_a||^2, computed on first use."""
        value = self._g_scale_sq.get(a)
        if value is None:
            gs = np.multiply(
                self.g64[a], self.scale(a), out=self._scratch(("gs", a), self.sizes[a])
            )
            value = self._g_scale_sq[a] = float(np.dot(gs, gs))
        return value

    def _side(self, d: _Direction, t: float) -> tuple[float, float]:
        """Evaluate f at x + t*v; return (f value, claimed change g . (x+ - x))."""
        replaced: dict[int, np.ndarray] = {}
        claim = 0.0
        for (a, start, stop), v, gv in zip(d.segments, d.vs, d.gv):
            base = self.x64[a][start:stop]
            target = v * t
            target += base
            if self.dtypes[a] == np.float64:
                claim += t * gv  # rounding covered by d.placement
            else:
                # Rounding to a coarser dtype moves the point by up to half
                # an ulp, a sizeable fraction of t v: use the actual move.
                target = target.astype(self.dtypes[a])
                delta = target.astype(np.float64)
                delta -= base
                claim += float(np.dot(self.g64[a][start:stop], delta))
            if start == 0 and stop == self.sizes[a]:
                replaced[a] = target  # fresh already: no copy of the original
            else:
                full = self.natives[a].reshape(-1).copy()
                full[start:stop] = target
                replaced[a] = full
        return self._call(replaced)[0], claim

    def _measure(self, d: _Direction, t: float) -> _Step:
        """Evaluate f at x +- t v; derive residual, slope jump and their bounds."""
        f_plus, c_plus = self._side(d, t)
        f_minus, c_minus = self._side(d, -t)
        if not (math.isfinite(f_plus) and math.isfinite(f_minus)):
            _ = self.f0  # raises if f is not finite at the point itself
            nan = math.nan
            return _Step(t, f_plus, f_minus, c_plus, c_minus, nan, nan, nan, nan, False)
        magnitude = max(abs(f_plus), abs(f_minus))
        # rho = D - c, as in (1).
        residual = ((f_plus - f_minus) - (c_plus - c_minus)) / (2.0 * t)
        claimed = d.claim_bound + d.placement / t
        suspicious = abs(residual) > self.sigma(magnitude) / t + claimed
        if suspicious and not self.calibrated:
            self.calibrate()
        # J = right slope - left slope, minus its claimed counterpart (0 unless
        # rounding made x+ and x- asymmetric); needs f(x), so it is computed
        # only from the first suspicious residual on.
        jump = math.nan
        if suspicious or self._f0 is not None:
            f0 = self.f0
            magnitude = max(magnitude, abs(f0))
            jump = ((f_plus - 2.0 * f0 + f_minus) - (c_plus + c_minus)) / t
        sigma = self.sigma(magnitude)
        # |eta| <= sigma per evaluation: rho carries at most sigma/t, and J
        # at most (|eta+| + 2|eta0| + |eta-|)/t = 4 sigma/t.
        return _Step(
            t, f_plus, f_minus, c_plus, c_minus, residual, jump,
            sigma / t + claimed, 4.0 * sigma / t + 2.0 * claimed, True,
        )  # fmt: skip

    def probe(
        self, d: _Direction, stable_pairs: int, to_smallest: bool = False, significance: float = 1.0
    ) -> _Verdict:
        """Classify the residual along one direction by halving the step.

        A fail or kink needs a run of at least ``stable_pairs`` stable step
        pairs that began with a significant residual; with ``to_smallest`` the
        run must also reach the smallest step, so that a kink close to x (but
        not at it) has been cleared before anything is concluded.  The run's
        first residual must exceed ``significance`` times its bound.
        """
        if not any(v.any() for v in d.vs):
            return _Verdict(_PASS, [])  # every element excluded: nothing to test
        steps: list[_Step] = []
        run = 0  # consecutive stable step pairs ending at the current step
        t = self.h0
        while len(steps) <= _MAX_REFINEMENTS:
            step = self._measure(d, t)
            if self.precision_changed:
                # The first output showed a coarser working precision, so the
                # step was too small: start over at the right one.
                self.precision_changed = False
                t = self.h0
                continue
            steps.append(step)
            k = len(steps) - 1  # index of this step
            t /= _SHRINK
            if not step.finite:
                run = 0
                continue
            prev = steps[-2] if k >= 1 else None
            if prev is not None and prev.finite:
                same = abs(step.residual - prev.residual) <= (
                    _STABLE_FRACTION * max(abs(step.residual), abs(prev.residual))
                    + (step.bound + prev.bound) / _NOISE_COVERAGE
                )
                run = run + 1 if same else 0
            else:
                run = 0
            start = k - run
            if run and abs(steps[start].residual) > significance * steps[start].bound:
                # A stable run that began with a significant residual: keep
                # gathering evidence instead of passing because the bound grew.
                if run >= stable_pairs and (not to_smallest or k == _MAX_REFINEMENTS):
                    if to_smallest:
                        kink = _kink_at_x(steps[start:])
                    else:
                        # A group's label only; told by its run's last pair.
                        kink = _kink_like(steps[k - 1], step)
                    return _Verdict(_KINK if kink else _FAIL, steps, start)
            elif abs(step.residual) <= step.bound:
                return _Verdict(_PASS, steps)
        return _Verdict(_UNCLEAR, steps)

    # -- directions ------------------------------------------------------- #

    def random_direction(
        self, rng: np.random.Generator, segments: list[_Segment], buffer: str = ""
    ) -> _Direction:
        """Entries +-[1, 2) times the element scale over the segments.

        With a ``buffer`` name, whole-argument vectors are written into that
        reusable buffer (a direction over everything is probed, then dropped,
        before the next one under the same name is drawn).
        """
        vs = []
        for a, start, stop in segments:
            size = stop - start
            # float32 uniforms, drawn into reused arrays (their 2^-24
            # granularity does not matter for a random direction).
            w = rng.random(
                size, dtype=np.float32, out=self._scratch(("uniform", a), size, np.float32)
            )
            w *= 2.0
            w -= 1.0  # uniform in [-1, 1)
            w += np.sign(w, out=self._scratch(("sign", a), size, np.float32))  # +-[1, 2)
            out = self._scratch((buffer, a), size) if buffer and size == self.sizes[a] else None
            u = np.multiply(w, self.scale(a)[start:stop], out=out)
            if self.excluded[a]:
                idx = self._excluded_sorted[a]
                if idx is None:
                    idx = self._excluded_sorted[a] = np.array(sorted(self.excluded[a]))
                lo, hi = np.searchsorted(idx, (start, stop))
                u[idx[lo:hi] - start] = 0.0
            vs.append(u)
        return self.direction(segments, vs)

    def exclude(self, a: int, i: int) -> None:
        self.excluded[a].add(i)
        self._excluded_sorted[a] = None

    def open_elements(self, segments: list[_Segment]) -> int:
        """Number of elements in segments that are not excluded."""
        count = 0
        for a, start, stop in segments:
            count += stop - start
            if self.excluded[a]:
                count -= sum(1 for i in self.excluded[a] if start <= i < stop)
        return count

    # -- single elements -------------------------------------------------- #

    def judge_element(self, a: int, i: int) -> GradMismatch | KinkElement | None:
        """Judge one element: None if it passes, else a mismatch or kink record."""
        d = self.direction([(a, i, i + 1)], [self.scale(a)[i : i + 1].copy()])
        verdict = self.probe(
            d, _ELEMENT_STABLE_PAIRS, to_smallest=True, significance=_ELEMENT_SIGNIFICANCE
        )
        if verdict.status == _PASS:
            return None
        index = tuple(int(j) for j in np.unravel_index(i, self.shapes[a])) if self.shapes[a] else ()
        if verdict.status == _KINK:
            return self._kink_record(a, i, index, verdict.steps[-2], verdict.steps, True)
        finite = [s for s in verdict.steps if s.finite]
        if verdict.status == _UNCLEAR:
            if not finite:
                got = float(self.g64[a][i])
                return KinkElement(a, index, math.nan, math.nan, got, False, False)
            return self._kink_record(a, i, index, finite[-1], finite, False)

        # A stable disagreement over three fine steps: confirm at the coarse
        # step (see _COARSE_FACTOR) before reporting it.
        fine = verdict.steps[verdict.stable_at]
        coarse_step = max(_COARSE_STEP, _COARSE_FACTOR * self.h0)
        big, small, smaller = (self._measure(d, coarse_step / _SHRINK**j) for j in range(3))
        if not (big.finite and small.finite and smaller.finite):
            return self._kink_record(a, i, index, fine, finite, False)
        # Richardson: rho(t) = delta + c t^2 + O(t^4)  =>  delta ~ (4 rho(t/2) - rho(t)) / 3.
        # Two such values, from (t, t/2) and (t/2, t/4), differ by about 15/16
        # of the O(t^4) remainder of the first: that difference bounds it.
        first = (4.0 * small.residual - big.residual) / 3.0
        extrapolated = (4.0 * smaller.residual - small.residual) / 3.0
        bound = (4.0 * smaller.bound + small.bound) / 3.0 + abs(first - extrapolated)
        # A last chance to see a kink at x that the fine steps' noise hid
        # (see _kink_at_x), where noise is low: J kept from t to t/4, or
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
        ) <= _STABLE_FRACTION * abs(extrapolated)
        kink = (
            _jump_kept(big, smaller)
            or (abs(jump0) > 5.0 * smaller.jump_bound and extrapolation_holds)
            or at_endpoint
        ) and max(abs(jump0), abs(smaller.jump)) >= _KINK_SHARE * abs(fine.residual)
        big, small = small, smaller
        agree = abs(extrapolated - fine.residual) <= (
            _STABLE_FRACTION * max(abs(extrapolated), abs(fine.residual)) + bound + fine.bound
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
        if abs(extrapolated) <= bound + _STABLE_FRACTION * abs(fine.residual):
            # The claim holds at the coarse scale, where the fine residual
            # vanished: truncation, or f could not resolve the fine steps.
            return None
        return self._kink_record(a, i, index, small, [big, small], False)

    def _kink_record(
        self, a: int, i: int, index: tuple[int, ...], s: _Step, steps: list[_Step], judged: bool
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
        tolerance += _GRAD_ULPS * self.eps_g * abs(got)
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


def _split(segments: list[_Segment]) -> list[list[_Segment]]:
    """Split a group: by argument first, then into two contiguous halves."""
    if len(segments) > 1:
        return [[segment] for segment in segments]
    a, start, stop = segments[0]
    mid = (start + stop) // 2
    return [[(a, start, mid)], [(a, mid, stop)]]


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #


def check_gradient(
    f: Callable[..., Any],
    args: Sequence[Any],
    grads: Sequence[Any],
    *,
    seed: int = 0,
    directions: int = _DEFAULT_DIRECTIONS,
    elementwise_limit: int = _DEFAULT_ELEMENTWISE_LIMIT,
    max_evaluations: int = _DEFAULT_MAX_EVALUATIONS,
    strict_kinks: bool = False,
    precision: str | None = None,
) -> GradCheckResult:
    """Check claimed gradients ``grads`` of the scalar function ``f(*args)``.

    Args:
        f: NumPy function of ``len(args)`` arguments returning a scalar (a
            Python float, a NumPy scalar or a size-1 array).  It is always
            called with fresh copies of its arguments, so it may mutate them.
        args: the point: float arrays, NumPy float scalars or Python floats.
        grads: claimed gradient of ``f`` with respect to each of ``args``, in the
            same order and shapes.
        seed: seed of the random directions; equal seeds give equal results.
        directions: random directions over all elements that must pass before
            the gradient is accepted (2 evaluations of f each when they pass).
            One sees any single wrong element; a second guards against
            several wrong elements whose effects nearly cancel along the first.
        elementwise_limit: with at most this many elements in total, every
            element is judged by its own centred differences instead (about
            2 evaluations each) and no random directions are used.
        max_evaluations: budget of evaluations of f; blocks left when it runs
            out are reported in ``result.unresolved``.
        strict_kinks: also fail when a claim at a kink lies outside the
            one-sided slopes.  Off by default: where several kinks meet, a
            correct chain-rule gradient can lie outside.
        precision: lowest precision f computes in, if coarser than its
            arguments' and output's dtypes say ("float16", "float32" or
            "float64").  Needed for a forward that rounds to float32 inside
            but returns float64 (e.g. a float64 regulariser added to a float32
            loss) when its float32 part cannot register a float64-sized step:
            then nothing f returns tells it apart from a float64 f whose
            gradient is wrong.  Often caught without it (float32-representable
            outputs, measured noise), but not always.

    Returns:
        A :class:`GradCheckResult`.

    Raises:
        GradCheckInputError: malformed input, or ``f(*args)`` not a finite
            scalar.  Exceptions raised inside ``f`` propagate unchanged.
    """
    if not callable(f):
        raise _fail(f"f is {type(f).__name__}; expected a callable f(*args) -> scalar.")
    for name, value in (("args", args), ("grads", grads)):
        if isinstance(value, (np.ndarray, str)) or not isinstance(value, Sequence):
            raise _fail(
                f"{name} is {type(value).__name__}; expected a sequence (list or tuple) with "
                f"one entry per argument of f; wrap a single array as ({name[0]},)."
            )
    if len(grads) != len(args):
        raise _fail(
            f"got {len(grads)} gradient(s) for {len(args)} argument(s); expected one "
            "gradient per argument, in the same order."
        )
    seed = _int_option("seed", seed, 0)
    directions = _int_option("directions", directions, 1)
    elementwise_limit = _int_option("elementwise_limit", elementwise_limit, 0)
    max_evaluations = _int_option("max_evaluations", max_evaluations, 1)
    if precision is not None and precision not in _DTYPE_NAMES.values():
        raise _fail(f"precision={precision!r}; expected None, 'float16', 'float32' or 'float64'.")

    natives: list[np.ndarray] = []
    kinds: list[int] = []
    for i, value in enumerate(args):
        native, kind = _validate_arg(i, value)
        natives.append(native)
        kinds.append(kind)
    claimed = [_validate_grad(i, g, natives[i]) for i, g in enumerate(grads)]

    checker = _Checker(f, natives, kinds, claimed, max_evaluations)
    owns_buffers = checker._buffers is _BUFFERS
    _BUFFERS.in_use = True
    try:
        eps = checker.eps_f if precision is None else max(checker.eps_f, _eps(np.dtype(precision)))
        checker.set_precision(eps)
        n = sum(checker.sizes)
        rng = np.random.default_rng(seed)
        # A separate stream, so calibrating (or not) leaves the directions alone.
        checker.noise_rng = np.random.default_rng([seed, 1])

        mismatches: list[GradMismatch] = []
        kinks: list[KinkElement] = []
        unresolved: list[UnresolvedRegion] = []
        directions_checked = 0
        # Blocks still to localise, with the status of the probe that flagged
        # them; processed depth-first, so the budget finishes located errors
        # before it opens new blocks.
        pending: list[tuple[list[_Segment], str]] = []

        def judge(a: int, i: int) -> None:
            if i in checker.excluded[a]:
                return
            record = checker.judge_element(a, i)
            if isinstance(record, GradMismatch):
                mismatches.append(record)
            elif isinstance(record, KinkElement):
                kinks.append(record)
            if record is not None:
                checker.exclude(a, i)

        def localize() -> None:
            while pending:
                segments, _ = pending[-1]
                if checker.open_elements(segments) <= _LEAF_SIZE:
                    for a, start, stop in segments:
                        for i in range(start, stop):
                            judge(a, i)
                    pending.pop()
                    continue
                # Each half gets its own fresh direction and probe: a half is
                # never assumed guilty because its sibling passed (near-cancelling
                # errors can make a guilty half pass once).
                children = _split(segments)
                verdicts = [
                    checker.probe(checker.random_direction(rng, child), _GROUP_STABLE_PAIRS)
                    for child in children
                ]
                pending.pop()
                for child, verdict in reversed(list(zip(children, verdicts))):
                    if verdict.status != _PASS:
                        pending.append((child, verdict.status))

        def screen(root: list[_Segment]) -> tuple[_Direction, _Verdict] | None:
            """Probe `directions` random directions over root; return the first flag."""
            nonlocal directions_checked
            for _ in range(directions):
                direction = checker.random_direction(rng, root, buffer="screen")
                verdict = checker.probe(direction, _GROUP_STABLE_PAIRS)
                directions_checked += 1
                if verdict.status != _PASS:
                    return direction, verdict
            return None

        # A block being probed before anything is pending (a round's directions
        # over everything): reported as unresolved if the budget runs out there.
        in_flight: list[_Segment] | None = None
        try:
            if n <= elementwise_limit:
                for a in reversed(range(len(natives))):
                    for i in reversed(range(checker.sizes[a])):
                        pending.append(([(a, i, i + 1)], _UNCLEAR))
                localize()
            elif n > 0:
                root = [(a, 0, size) for a, size in enumerate(checker.sizes) if size > 0]
                for _ in range(_MAX_ROUNDS):
                    in_flight = root
                    flagged = screen(root)
                    in_flight = None
                    if flagged is None:
                        break
                    mismatches_before = len(mismatches)
                    pending.append((root, flagged[1].status))
                    localize()
                    if len(mismatches) == mismatches_before:
                        # Kinks (or nothing) explain the flag; only new mismatches
                        # make a further round worth its evaluations.
                        break
        except _BudgetExhausted:
            if in_flight is not None:
                pending.append((in_flight, _UNCLEAR))
            for segments, status in pending:
                reason: Literal["mismatch", "kink", "unclear"] = (
                    "mismatch" if status == _FAIL else "kink" if status == _KINK else "unclear"
                )
                for a, start, stop in segments:
                    unresolved.append(UnresolvedRegion(a, start, stop, reason))

        mismatches.sort(key=lambda m: (m.arg, m.index))
        kinks.sort(key=lambda k: (k.arg, k.index))
        unresolved.sort(key=lambda r: (r.arg, r.flat_start))
        ok = not mismatches and not any(r.reason == "mismatch" for r in unresolved)
        if strict_kinks and any(k.judged and not k.in_subgradient for k in kinks):
            ok = False
        if checker.out_dtype is None:
            _ = checker.f0  # nothing was evaluated (no elements): still validate f once
        # An error e in an element of magnitude floor_a moves rho by at least
        # |e| * floor_a (|u| >= 1): twice the first step's bound is always seen.
        first_bound = checker.sigma(checker.magnitude) / checker.h0
        resolution = tuple(2.0 * first_bound / floor for floor in checker.floor)
        return GradCheckResult(
            ok=ok,
            mismatches=tuple(mismatches),
            kinks=tuple(kinks),
            evaluations=checker.evaluations,
            directions_checked=directions_checked,
            step=checker.h0,
            dtype=_DTYPE_NAMES.get(checker.eps_f, str(checker.out_dtype)),
            elements=n,
            seed=seed,
            resolution=resolution,
            unresolved=tuple(unresolved),
        )

    finally:
        if owns_buffers:
            _BUFFERS.in_use = False
