"""The fast numerical gradient check (numpy only): random directions, group-testing search.

Rule: numpy only; never imports jax, hypothesis or anything else of bpverify.
"""

from __future__ import annotations

from bpverify.gradcheck.core import (
    GradCheckInputError,
    GradCheckResult,
    GradMismatch,
    KinkElement,
    UnresolvedRegion,
    check_gradient,
)

__all__ = [
    "GradCheckInputError",
    "GradCheckResult",
    "GradMismatch",
    "KinkElement",
    "UnresolvedRegion",
    "check_gradient",
]
