"""Fast, kink-aware numerical gradient check that names the wrong elements (numpy only).

Rule: numpy only; never imports jax, hypothesis or anything else of bpverify.

Modules: :mod:`~bpverify.gradcheck.results` (what a check returns),
:mod:`~bpverify.gradcheck.validation` (the public boundary),
:mod:`~bpverify.gradcheck.numerics` (every constant, with its reason),
:mod:`~bpverify.gradcheck.steps` and :mod:`~bpverify.gradcheck.probe` (screening: one
direction, step by step), :mod:`~bpverify.gradcheck.elements` (one element at a time) and
:mod:`~bpverify.gradcheck.search` (:func:`check_gradient`: screening, then localisation).

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

from bpverify.gradcheck.results import (
    GradCheckInputError,
    GradCheckResult,
    GradMismatch,
    KinkElement,
    UnresolvedRegion,
)
from bpverify.gradcheck.search import check_gradient

__all__ = [
    "GradCheckInputError",
    "GradCheckResult",
    "GradMismatch",
    "KinkElement",
    "UnresolvedRegion",
    "check_gradient",
]
