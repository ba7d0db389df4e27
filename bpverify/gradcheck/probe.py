"""Screening: evaluate f along a direction and classify the residual by halving the step.

:class:`Prober` holds the problem (f, the point, the claimed gradient) and what a check learns
about it as it goes (f's working precision and noise, the elements already judged).

Long because the probe, its evaluation cache and the batched prefetch (``f_many``) share one
piece of state, the exact points evaluated: split, each half would reach into the other's.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from bpverify.gradcheck.numerics import (
    EPS32,
    EPS64,
    GRAD_ULPS,
    GROUP_PREFETCH_STEPS,
    MAX_REFINEMENTS,
    NOISE_COVERAGE,
    NOISE_POINTS,
    ROUNDING_ULPS,
    SHRINK,
    STABLE_FRACTION,
    STEP_EXPONENT,
)
from bpverify.gradcheck.steps import (
    FAIL,
    KINK,
    PASS,
    UNCLEAR,
    BudgetExhausted,
    Direction,
    Segment,
    Step,
    Verdict,
    ecnoise,
    kink_at_x,
    kink_like,
)
from bpverify.gradcheck.validation import (
    KIND_NPSCALAR,
    KIND_PYFLOAT,
    eps_of,
    input_error,
    looks_float32,
    scalar_output,
)

__all__ = ["Prober"]


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

#: A point: flat native-dtype arrays for the arguments that differ from x (``{}`` is x itself).
Point = dict[int, np.ndarray]
#: Evaluates f at several argument lists in one go (see check_gradient's ``f_many``).
ManyEvaluator = Callable[[list[list[Any]]], Sequence[Any]]


def point_key(replaced: Point) -> tuple[tuple[int, bytes], ...]:
    """The exact bytes of a point: equal keys mean the very same arguments of f."""
    return tuple((a, replaced[a].tobytes()) for a in sorted(replaced))


class Prober:
    """The problem (f, point, claimed gradient) and the probes run on it."""

    def __init__(
        self,
        f: Callable[..., Any],
        natives: list[np.ndarray],
        kinds: list[int],
        grads: list[np.ndarray],
        max_evaluations: int,
        f_many: ManyEvaluator | None = None,
    ) -> None:
        self.f = f
        # Values of f computed ahead by f_many, by point_key; an evaluation that finds its
        # point here takes the value instead of calling f (and still counts).
        self.f_many = f_many
        self.prefetched: dict[tuple[tuple[int, bytes], ...], Any] = {}
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
        # output dtype is folded in by the first evaluation (learn_output).
        # Claimed gradients are trusted to their own dtype's precision, and
        # never beyond f's.
        self.eps_f = max([eps_of(d) for d in self.dtypes], default=EPS64)
        grad_eps = [eps_of(g.dtype) for g in grads if g.dtype.kind == "f"]
        self.eps_g = max(grad_eps, default=EPS64)
        if self.eps_g < EPS32 and any(looks_float32(g[:4096]) for g in self.g64 if g.size):
            self.eps_g = EPS32
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

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """For the duration of a check: this thread's shared work arrays are taken."""
        owns_buffers = self._buffers is _BUFFERS
        _BUFFERS.in_use = True
        try:
            yield
        finally:
            if owns_buffers:
                _BUFFERS.in_use = False

    # -- noise ------------------------------------------------------------ #

    def sigma(self, magnitude: float) -> float:
        """Bound on the rounding error of one evaluation of f of this magnitude.

        Errors scale with 1 + |f|, not |f| (Gill, Murray & Wright, Practical
        Optimization, 8.5): a loss near 0 is still computed from O(1)
        intermediates (probabilities, log-sum-exp), whose rounding it keeps.
        """
        scale = 1.0 + magnitude
        if self.calibrated:
            return max(NOISE_COVERAGE * self.noise, self.eps_f * scale)
        return ROUNDING_ULPS * self.eps_f * scale

    def calibrate(self) -> None:
        """Measure f's noise along a dense random direction (see NOISE_POINTS)."""
        self.calibrated = True
        assert self.noise_rng is not None
        segments = [(a, 0, size) for a, size in enumerate(self.sizes) if size > 0]
        d = self.random_direction(self.noise_rng, segments, buffer="calibration")
        if not any(v.any() for v in d.vs):
            return
        spacing = self.h0 / NOISE_POINTS
        if self.f_many is not None:
            ahead: list[Point] = [] if self._f0 is not None else [{}]
            for side in (1.0, -1.0):
                ahead += [self.point(d, side * j * spacing)[0] for j in range(1, NOISE_POINTS + 1)]
            self.prefetch(ahead)
        estimates = []
        for side in (1.0, -1.0):
            values = [self.f0]
            for j in range(1, NOISE_POINTS + 1):
                values.append(self.side(d, side * j * spacing)[0])
            estimates.append(ecnoise(np.array(values)))
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

    def call_args(self, replaced: Point) -> list[Any]:
        """f's arguments at a point: fresh arrays (f may mutate them) in the caller's kinds."""
        call_args: list[Any] = []
        for a, native in enumerate(self.natives):
            arr = replaced[a].reshape(self.shapes[a]) if a in replaced else native.copy()
            kind = self.kinds[a]
            if kind == KIND_PYFLOAT:
                call_args.append(float(arr))
            elif kind == KIND_NPSCALAR:
                call_args.append(arr[()])
            else:
                call_args.append(arr)
        return call_args

    def prefetch(self, points: list[Point]) -> None:
        """Compute f at points it is about to be evaluated at, in one call of f_many.

        Only a cache: each value is taken (and counted) by :meth:`evaluate` when the search
        asks for that very point, in the order the search asks, so every verdict is what
        single calls of f give.  If f_many raises, nothing is cached and f_many is not used
        again: the single calls then raise (or not) exactly where they would have.
        """
        if self.f_many is None or not points:
            return
        todo: dict[tuple[tuple[int, bytes], ...], Point] = {}
        for p in points:
            key = point_key(p)
            if key not in self.prefetched:
                todo.setdefault(key, p)
        if not todo:
            return
        try:
            values = list(self.f_many([self.call_args(p) for p in todo.values()]))
        except Exception:  # the single calls of f will tell
            self.f_many = None
            return
        # f_many may answer fewer points than asked (a time limit): the first ones.
        for key, value in zip(todo, values):
            self.prefetched[key] = value

    def evaluate(self, replaced: Point) -> tuple[float, np.dtype]:
        """Evaluate f; ``replaced`` maps args to fresh flat native-dtype arrays."""
        if self.evaluations >= self.max_evaluations:
            raise BudgetExhausted
        missing = object()
        raw: Any = missing
        if self.prefetched:
            raw = self.prefetched.pop(point_key(replaced), missing)
        self.evaluations += 1
        if raw is missing:
            raw = self.f(*self.call_args(replaced))
        value, dtype = scalar_output(raw)
        if self.out_dtype is None:
            self._learn_output(value, dtype)
        if math.isfinite(value):
            self.magnitude = max(self.magnitude, abs(value))
        return value, dtype

    def set_precision(self, eps: float) -> None:
        self.eps_f = eps
        self.eps_g = max(self.eps_g, eps)
        self.h0 = eps**STEP_EXPONENT

    def _learn_output(self, value: float, dtype: np.dtype) -> None:
        """Fold f's output dtype (and float32-looking values) into the precision."""
        self.out_dtype = dtype
        eps = max(self.eps_f, eps_of(dtype))
        if eps < EPS32 and math.isfinite(value) and looks_float32(np.array([value])):
            eps = EPS32  # float64 output with float32 accuracy
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
            value, _ = self.evaluate({})
            if not math.isfinite(value):
                raise input_error(
                    f"f(*args) returned {value}; a gradient can only be checked where f is finite."
                )
            self._f0 = value
        return self._f0

    def direction(self, segments: list[Segment], vs: list[np.ndarray]) -> Direction:
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
        claim_bound = (GRAD_ULPS * self.eps_g + EPS64 * math.sqrt(count)) * l2
        # In float64, x + t v is rounded by at most eps64 |x_i + t v_i| / 2 per
        # element, and |x_i| <= |v_i| (scale >= |x|, |u| >= 1): the claim
        # t g . v is then off by at most eps64 sum |g v| per side.
        placement = EPS64 * math.sqrt(count) * l2
        return Direction(segments, vs, gv_dots, claim_bound, placement)

    def _g_scale_l2(self, a: int) -> float:
        """||g_a * scale_a||^2, computed on first use."""
        value = self._g_scale_sq.get(a)
        if value is None:
            gs = np.multiply(
                self.g64[a], self.scale(a), out=self._scratch(("gs", a), self.sizes[a])
            )
            value = self._g_scale_sq[a] = float(np.dot(gs, gs))
        return value

    def point(self, d: Direction, t: float) -> tuple[Point, float]:
        """The point x + t*v (fresh arrays) and the claimed change g . (x+ - x)."""
        replaced: Point = {}
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
        return replaced, claim

    def side(self, d: Direction, t: float) -> tuple[float, float]:
        """Evaluate f at x + t*v; return (f value, claimed change g . (x+ - x))."""
        replaced, claim = self.point(d, t)
        return self.evaluate(replaced)[0], claim

    def step_points(self, d: Direction, steps: Sequence[float]) -> list[Point]:
        """The points x +- t v that :meth:`measure` evaluates for each t in steps."""
        if self.f_many is None or not any(v.any() for v in d.vs):
            return []
        return [self.point(d, s * t)[0] for t in steps for s in (1.0, -1.0)]

    def prefetch_steps(self, d: Direction, steps: Sequence[float]) -> None:
        """Prefetch what measuring d at each t in steps evaluates (nothing without f_many)."""
        self.prefetch(self.step_points(d, steps))

    def measure(self, d: Direction, t: float) -> Step:
        """Evaluate f at x +- t v; derive residual, slope jump and their bounds."""
        self.prefetch_steps(d, [t])
        f_plus, c_plus = self.side(d, t)
        f_minus, c_minus = self.side(d, -t)
        if not (math.isfinite(f_plus) and math.isfinite(f_minus)):
            _ = self.f0  # raises if f is not finite at the point itself
            nan = math.nan
            return Step(t, f_plus, f_minus, c_plus, c_minus, nan, nan, nan, nan, False)
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
        return Step(
            t, f_plus, f_minus, c_plus, c_minus, residual, jump,
            sigma / t + claimed, 4.0 * sigma / t + 2.0 * claimed, True,
        )  # fmt: skip

    def probe(
        self, d: Direction, stable_pairs: int, to_smallest: bool = False, significance: float = 1.0
    ) -> Verdict:
        """Classify the residual along one direction by halving the step.

        A fail or kink needs a run of at least ``stable_pairs`` stable step
        pairs that began with a significant residual; with ``to_smallest`` the
        run must also reach the smallest step, so that a kink close to x (but
        not at it) has been cleared before anything is concluded.  The run's
        first residual must exceed ``significance`` times its bound.
        """
        if not any(v.any() for v in d.vs):
            return Verdict(PASS, [])  # every element excluded: nothing to test
        steps: list[Step] = []
        run = 0  # consecutive stable step pairs ending at the current step
        t = self.h0
        while len(steps) <= MAX_REFINEMENTS:
            step = self.measure(d, t)
            if self.precision_changed:
                # The first output showed a coarser working precision, so the
                # step was too small: start over at the right one.
                self.precision_changed = False
                t = self.h0
                continue
            steps.append(step)
            k = len(steps) - 1  # index of this step
            t /= SHRINK
            if k == 0 and abs(step.residual) > step.bound:
                # An element that did not pass at once usually runs to the smallest step (a
                # kink, or an error): fetch all its steps in one batch, not one per step.  A
                # group needs at least one more (a stable pair), often two (a kink clearing).
                more = MAX_REFINEMENTS if to_smallest else GROUP_PREFETCH_STEPS
                self.prefetch_steps(d, [t / SHRINK**j for j in range(more)])
            if not step.finite:
                run = 0
                continue
            prev = steps[-2] if k >= 1 else None
            if prev is not None and prev.finite:
                same = abs(step.residual - prev.residual) <= (
                    STABLE_FRACTION * max(abs(step.residual), abs(prev.residual))
                    + (step.bound + prev.bound) / NOISE_COVERAGE
                )
                run = run + 1 if same else 0
            else:
                run = 0
            start = k - run
            if run and abs(steps[start].residual) > significance * steps[start].bound:
                # A stable run that began with a significant residual: keep
                # gathering evidence instead of passing because the bound grew.
                if run >= stable_pairs and (not to_smallest or k == MAX_REFINEMENTS):
                    if to_smallest:
                        kink = kink_at_x(steps[start:])
                    else:
                        # A group's label only; told by its run's last pair.
                        kink = kink_like(steps[k - 1], step)
                    return Verdict(KINK if kink else FAIL, steps, start)
            elif abs(step.residual) <= step.bound:
                return Verdict(PASS, steps)
        return Verdict(UNCLEAR, steps)

    # -- directions ------------------------------------------------------- #

    def random_direction(
        self, rng: np.random.Generator, segments: list[Segment], buffer: str = ""
    ) -> Direction:
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

    def open_elements(self, segments: list[Segment]) -> int:
        """Number of elements in segments that are not excluded."""
        count = 0
        for a, start, stop in segments:
            count += stop - start
            if self.excluded[a]:
                count -= sum(1 for i in self.excluded[a] if start <= i < stop)
        return count
