"""The numerical constants of the check, each with the reason for its value.

The method they serve is described in :mod:`bpverify.gradcheck` (its docstring).
"""

from __future__ import annotations

import numpy as np

# Exponent of the step: balancing rounding O(eps/t) against truncation O(t^2)
# of a centred difference gives t ~ eps^(1/3) (see bpverify.gradcheck's docstring).
STEP_EXPONENT = 1.0 / 3.0

# Worst-case rounding error of one evaluation of f, in ulps of 1 + the largest
# |f| seen (see Prober.sigma), used until f's noise has been measured.  On
# softmax-loss nets the residual of correct gradients stays below
# 1.4 eps |f| / t (float64); 4 leaves room for longer reductions.
ROUNDING_ULPS = 4.0

# Noise calibration (ECnoise: More & Wild, "Estimating computational noise",
# SIAM J. Sci. Comput. 33(3), 2011), run once per check, and only when a
# residual first exceeds the model above.  f can be far noisier than its output
# dtype says: a float32 forward whose float64 output adds a float64
# regulariser; intermediates too coarse to register a tiny step.  Along a
# dense random direction, f is evaluated at x + j*s*v, j = 1..NOISE_POINTS,
# on each side of x with s = h0 / NOISE_POINTS, which is the window the probes
# use, so the noise is seen at the scale where it matters (a float32 part of f
# is exactly flat at much finer spacings).  One-sided sweeps keep a kink at x
# itself out of the table.  The larger of the two estimates is kept: a float32
# part of f can happen to stay flat over one side's sweep, and an underestimate
# would turn noise into false alarms, while a kink near x on one side can only
# inflate the estimate (less precision, never a false alarm).  The level is
# read off the difference table at the first order where three consecutive
# orders agree within a factor NOISE_AGREEMENT and the differences change sign.
NOISE_POINTS = 8
NOISE_MAX_ORDER = 6
NOISE_AGREEMENT = 4.0

# The calibrated level is an rms.  As a bound on one evaluation's error take
# this many of it: the error of D, (eta+ - eta-)/2t, then has 5.7 standard
# deviations of room.  Once calibrated, this replaces the ROUNDING_ULPS model
# (floored at one ulp of |f|).
NOISE_COVERAGE = 4.0

# Relative accuracy assumed for each claimed gradient element, in ulps of the
# gradient's dtype.  Backprop sums a few products per element, and its errors
# are independent across elements, so they add up as an l2 norm in g . v.
GRAD_ULPS = 8.0

# The step is divided by this at each refinement.  Halving keeps precision:
# rounding error only doubles per refinement, while truncation drops 4x and a
# straddled kink at distance d is cleared once t < d.
SHRINK = 2.0

# Refinements after the first step (steps t, t/2, ..., t/16).  A kink is
# cleared unless it lies within t/16 of x; one that close behaves like a kink
# at x (the one-sided slopes disagree at every step tried).
MAX_REFINEMENTS = 4

# Two residuals at consecutive steps are "the same" when they differ by at
# most this fraction, plus about one standard deviation of noise each
# (bound / NOISE_COVERAGE).  Truncation changes by 1 - 1/SHRINK^2 = 75%
# between steps and a cleared kink by 100%, a wrong claim by nothing.
STABLE_FRACTION = 0.25

# Stable step pairs needed before a probe stops refining: one for a group
# (whose verdict only decides whether to split it); for an element, two, in a
# run that reaches the smallest step (t/16), before it goes on to the coarse
# confirmation: a run stopped earlier can still be straddling a kink near x,
# and in float32 the noise allowance lets a slowly clearing residual look
# stable.
GROUP_STABLE_PAIRS = 1
ELEMENT_STABLE_PAIRS = 2

# An element's run must also start with a residual at least this many times
# its rounding bound.  Near the bound, "stable" is weak evidence (the noise
# allowance is then comparable to the residual itself), and a truncation
# residual just above it would otherwise open a run.  Groups need only 1x:
# their verdict decides where to look, not what to report.
ELEMENT_SIGNIFICANCE = 2.0

# Coarse confirmation of an element mismatch: the residual must reappear,
# Richardson-extrapolated from steps tc and tc/2 (which removes the t^2
# truncation term), with tc = max(eps32^(1/3), COARSE_FACTOR * h0): the step
# float32 arithmetic needs.  A wrong claim gives the same residual at every
# scale.  Truncation that looked stable over the fine steps extrapolates away,
# and so does the artefact of a forward that rounds intermediates to float32
# but returns float64: under a float64-sized step of one element it is exactly
# flat, a stable "derivative 0", while its true slope shows at tc.  Noise at
# tc is hundreds of times lower, which also makes the kink test there sharp.
# One element straddles few kinks, so a large step is safe.
COARSE_STEP = float(np.finfo(np.float32).eps) ** STEP_EXPONENT
COARSE_FACTOR = 4.0

# A kink at x must account for at least this share of an element's
# disagreement: its one-sided slopes must differ by at least 1% of how far the
# claim is off.  Where several kinks meet, a correct claim can lie outside the
# one-sided slopes (their jumps partly cancel), but not by 100 times their
# difference; below that share f is smooth to that precision along the
# element, and the claim is simply wrong (a kink crossed by a coarse step
# somewhere near x must not excuse it).
KINK_SHARE = 0.01

# Groups with at most this many open elements are judged element by element
# rather than split again: a probe and an element check cost about the same.
LEAF_SIZE = 4

# Rounds of (random directions, then localisation) at most.  A new round is
# started only after one that found new mismatches: errors that cancelled in
# one round's directions get fresh ones, and the found elements are excluded.
MAX_ROUNDS = 8

# One random direction over everything before a gradient is accepted.  With
# entries +-[1, 2) it sees any single wrong element above the resolution with
# certainty; several wrong elements escape it only if their contributions
# nearly cancel, with probability about (resolution / error size).  Each
# further direction squares that probability and costs 2 more evaluations;
# after a mismatch is found, every round draws fresh directions anyway.
DEFAULT_DIRECTIONS = 1

# With a batched evaluator, a group whose first step is suspicious gets its next steps
# computed in one call: a verdict needs a stable pair (t/2), a kink near x often clears at
# t/4.  More would be wasted on the groups that pass at t/2.
GROUP_PREFETCH_STEPS = 2
DEFAULT_ELEMENTWISE_LIMIT = 64
# With a batched evaluator (check_gradient's f_many), the first steps of this many elements
# are computed in one call: with the default limit, a small problem's whole first pass.
PREFETCH_ELEMENTS = 64
DEFAULT_MAX_EVALUATIONS = 20_000

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)
