r"""The search: screen random directions over everything, localise what they flag.

:func:`check_gradient` validates its inputs and runs a :class:`GradientSearch`, whose steps
are named after the method (see :mod:`bpverify.gradcheck`): :meth:`~GradientSearch.screen`
random directions over all elements, :meth:`~GradientSearch.localise` a flagged block by
adaptive group testing down to single elements, each :meth:`~GradientSearch.judge`\ d by its
own centred differences; with few elements, :meth:`~GradientSearch.judge_every_element`.
When the evaluation budget runs out, what was pending is reported as unresolved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from bpverify.gradcheck.elements import Checker
from bpverify.gradcheck.numerics import (
    DEFAULT_DIRECTIONS,
    DEFAULT_ELEMENTWISE_LIMIT,
    DEFAULT_MAX_EVALUATIONS,
    GROUP_STABLE_PAIRS,
    LEAF_SIZE,
    MAX_ROUNDS,
)
from bpverify.gradcheck.results import (
    GradCheckResult,
    GradMismatch,
    KinkElement,
    UnresolvedRegion,
)
from bpverify.gradcheck.steps import (
    FAIL,
    KINK,
    PASS,
    UNCLEAR,
    BudgetExhausted,
    Direction,
    Segment,
    Verdict,
)
from bpverify.gradcheck.validation import DTYPE_NAMES, check_inputs, eps_of, input_error

__all__ = ["GradientSearch", "check_gradient"]


def check_gradient(
    f: Callable[..., Any],
    args: Sequence[Any],
    grads: Sequence[Any],
    *,
    seed: int = 0,
    directions: int = DEFAULT_DIRECTIONS,
    elementwise_limit: int = DEFAULT_ELEMENTWISE_LIMIT,
    max_evaluations: int = DEFAULT_MAX_EVALUATIONS,
    strict_kinks: bool = False,
    precision: str | None = None,
    f_many: Callable[[list[list[Any]]], Sequence[Any]] | None = None,
    screen_first: bool = False,
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
        f_many: optional batched form of ``f``: given a list of argument lists, returns
            ``[f(*args) for args in that list]`` (values as f returns them), or only a
            leading part of that list (say, when a time limit stops it early).  Points the
            check is about to evaluate (the first steps of every element, a direction's
            two sides, the noise calibration) are then computed in one call each, and f
            is called for the rest.  A pure speed-up: every value is taken when the check
            asks for that exact point, so the result is the one f alone gives.  If f_many
            raises, it is dropped for the rest of the check (f then raises where it would).
        screen_first: with at most ``elementwise_limit`` elements, first probe the random
            directions over everything (2 evaluations each when they pass), and judge every
            element only when one does not pass.  A correct gradient then costs 2 evaluations
            instead of about 2 per element; a flagged one costs those 2 more.  Every mismatch
            and kink is still found and judged element by element.

    Returns:
        A :class:`GradCheckResult`.

    Raises:
        GradCheckInputError: malformed input, or ``f(*args)`` not a finite
            scalar.  Exceptions raised inside ``f`` propagate unchanged.
    """
    inputs = check_inputs(
        f, args, grads, seed=seed, directions=directions, elementwise_limit=elementwise_limit,
        max_evaluations=max_evaluations, precision=precision,
    )  # fmt: skip
    if f_many is not None and not callable(f_many):
        raise input_error(f"f_many is {type(f_many).__name__}; expected None or a callable.")
    checker = Checker(
        f, inputs.natives, inputs.kinds, inputs.claimed, inputs.max_evaluations, f_many
    )
    with checker.running():
        eps = checker.eps_f
        if precision is not None:  # f computes coarser inside than its dtypes say
            eps = max(eps, eps_of(np.dtype(precision)))
        checker.set_precision(eps)
        search = GradientSearch(checker, inputs.seed, inputs.directions)
        search.run(inputs.elementwise_limit, screen_first=screen_first)
        return search.result(strict_kinks)


class GradientSearch:
    """One run of :func:`check_gradient` over a :class:`Checker`, and what it found."""

    def __init__(self, checker: Checker, seed: int, directions: int) -> None:
        self.checker = checker
        self.seed = seed
        self.directions = directions
        self.rng = np.random.default_rng(seed)
        # A separate stream, so calibrating (or not) leaves the directions alone.
        checker.noise_rng = np.random.default_rng([seed, 1])
        self.elements = sum(checker.sizes)
        self.mismatches: list[GradMismatch] = []
        self.kinks: list[KinkElement] = []
        self.unresolved: list[UnresolvedRegion] = []
        self.directions_checked = 0
        # Blocks still to localise, with the status of the probe that flagged
        # them; processed depth-first, so the budget finishes located errors
        # before it opens new blocks.
        self.pending: list[tuple[list[Segment], str]] = []
        # A block being probed before anything is pending (a round's directions
        # over everything): reported as unresolved if the budget runs out there.
        self.in_flight: list[Segment] | None = None

    def run(self, elementwise_limit: int, screen_first: bool = False) -> None:
        """Judge every element of a small problem (``screen_first``: unless the random
        directions over everything pass), else screen and localise in rounds."""
        try:
            if self.elements <= elementwise_limit:
                root = [(a, 0, size) for a, size in enumerate(self.checker.sizes) if size > 0]
                if screen_first and root:
                    self.in_flight = root
                    flagged = self.screen(root)
                    self.in_flight = None
                    if flagged is None:
                        return
                self.judge_every_element()
            elif self.elements > 0:
                self.screen_and_localise()
        except BudgetExhausted:
            self.record_unresolved()

    def judge_every_element(self) -> None:
        sizes = self.checker.sizes
        for a in reversed(range(len(sizes))):
            for i in reversed(range(sizes[a])):
                self.pending.append(([(a, i, i + 1)], UNCLEAR))
        self.checker.plan_elements([(a, i) for a in range(len(sizes)) for i in range(sizes[a])])
        self.localise()

    def screen_and_localise(self) -> None:
        """Rounds of: random directions over everything, then localise what they flag."""
        root = [(a, 0, size) for a, size in enumerate(self.checker.sizes) if size > 0]
        for _ in range(MAX_ROUNDS):
            self.in_flight = root
            flagged = self.screen(root)
            self.in_flight = None
            if flagged is None:
                break
            mismatches_before = len(self.mismatches)
            self.pending.append((root, flagged[1].status))
            self.localise()
            if len(self.mismatches) == mismatches_before:
                # Kinks (or nothing) explain the flag; only new mismatches
                # make a further round worth its evaluations.
                break

    def screen(self, root: list[Segment]) -> tuple[Direction, Verdict] | None:
        """Probe ``directions`` random directions over root; return the first flag."""
        for _ in range(self.directions):
            direction = self.checker.random_direction(self.rng, root, buffer="screen")
            verdict = self.checker.probe(direction, GROUP_STABLE_PAIRS)
            self.directions_checked += 1
            if verdict.status != PASS:
                return direction, verdict
        return None

    def localise(self) -> None:
        """Adaptive group testing over the pending blocks, depth first."""
        checker, pending = self.checker, self.pending
        while pending:
            segments, _ = pending[-1]
            if checker.open_elements(segments) <= LEAF_SIZE:
                leaf = [(a, i) for a, start, stop in segments for i in range(start, stop)
                        if i not in checker.excluded[a]]
                if leaf and leaf[0] not in checker.upcoming_at:
                    checker.plan_elements(leaf)  # their first steps fetched together
                for a, start, stop in segments:
                    for i in range(start, stop):
                        self.judge(a, i)
                pending.pop()
                continue
            # Each half gets its own fresh direction and probe: a half is
            # never assumed guilty because its sibling passed (near-cancelling
            # errors can make a guilty half pass once).
            children = _split(segments)
            # Both directions first (probing draws nothing from self.rng), so that their
            # first steps can be prefetched together.
            directions = [checker.random_direction(self.rng, child) for child in children]
            checker.prefetch([p for d in directions for p in checker.step_points(d, [checker.h0])])
            verdicts = [checker.probe(d, GROUP_STABLE_PAIRS) for d in directions]
            pending.pop()
            for child, verdict in reversed(list(zip(children, verdicts))):
                if verdict.status != PASS:
                    pending.append((child, verdict.status))

    def judge(self, a: int, i: int) -> None:
        """Judge element i of argument a once; a judged element leaves later directions."""
        if i in self.checker.excluded[a]:
            return
        record = self.checker.judge_element(a, i)
        if isinstance(record, GradMismatch):
            self.mismatches.append(record)
        elif isinstance(record, KinkElement):
            self.kinks.append(record)
        if record is not None:
            self.checker.exclude(a, i)

    def record_unresolved(self) -> None:
        """The budget ran out: every pending block (and the one in flight) is unresolved."""
        if self.in_flight is not None:
            self.pending.append((self.in_flight, UNCLEAR))
        for segments, status in self.pending:
            reason: Literal["mismatch", "kink", "unclear"] = (
                "mismatch" if status == FAIL else "kink" if status == KINK else "unclear"
            )
            for a, start, stop in segments:
                self.unresolved.append(UnresolvedRegion(a, start, stop, reason))

    def result(self, strict_kinks: bool) -> GradCheckResult:
        checker = self.checker
        mismatches = sorted(self.mismatches, key=lambda m: (m.arg, m.index))
        kinks = sorted(self.kinks, key=lambda k: (k.arg, k.index))
        unresolved = sorted(self.unresolved, key=lambda r: (r.arg, r.flat_start))
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
            directions_checked=self.directions_checked,
            step=checker.h0,
            dtype=DTYPE_NAMES.get(checker.eps_f, str(checker.out_dtype)),
            elements=self.elements,
            seed=self.seed,
            resolution=resolution,
            unresolved=tuple(unresolved),
        )


def _split(segments: list[Segment]) -> list[list[Segment]]:
    """Split a group: by argument first, then into two contiguous halves."""
    if len(segments) > 1:
        return [[segment] for segment in segments]
    a, start, stop = segments[0]
    mid = (start + stop) // 2
    return [[(a, start, mid)], [(a, mid, stop)]]
