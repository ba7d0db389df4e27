"""How numbers and values are written for people, the same way in every output."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["num"]


def num(v: Any) -> str:
    """A value the way the lecture writes it: -12, 0.73, -0.20 (two decimals), else 1.2e-05."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "?"
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if abs(v) < 5e-13:
        return "0"
    r = round(v)
    if abs(v - r) < 1e-9 * max(1.0, abs(v)) and abs(v) < 1e6:
        return str(int(r))
    if 0.01 <= abs(v) < 1e4:
        return f"{v:.2f}"
    return f"{v:.2e}"
