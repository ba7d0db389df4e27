"""What the layer-by-layer blame of every net shares: the verdict and the readers of a
recorded call's values.

A net's loss is run again with its layer calls recorded; each call is judged on its own inputs,
so the first wrong call is the guilty one (the families' ``blame`` modules: normalization's
FullyConnectedNet, convolution's ThreeLayerConvNet, recurrent's CaptioningRNN).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Blame", "as_float", "parts"]


@dataclass(frozen=True)
class Blame:
    """The guilty call (a layer function, or the net's own loss for what lies between its
    calls), the value it got wrong ("dx", "out", "W1 regularization", "grads['W2']", ...), and
    the sentence that says so."""

    culprit: str
    value: str
    message: str


def as_float(v: Any) -> np.ndarray:
    """A recorded value as float64, to judge it in full precision."""
    return np.asarray(v, dtype=np.float64)


def parts(value: Any, n: int, *, lone_list: bool = False) -> list[Any] | None:
    """A call's ``n`` returned values as a list, or None if it did not return ``n`` of them.
    One value is the value itself (``lone_list``: a list or tuple of one is that one too)."""
    if n == 1:
        if not isinstance(value, (list, tuple)):
            return [value]
        return list(value) if lone_list and len(value) == 1 else None
    return list(value) if isinstance(value, (list, tuple)) and len(value) == n else None
