"""The spiral demo's scenario (worker side): train the submission's net by gradient descent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.namespace import call_student as _call
from bpverify.submission.replies import TrainReply
from bpverify.submission.scenarios import pair, plain

__all__ = ["SCENARIOS"]


def train_spiral(
    sub: LoadedSubmission, name: str, kwargs: dict[str, Any], X: np.ndarray, y: np.ndarray,
    steps: int, learning_rate: float,
) -> TrainReply:
    """Train the submission's net by full-batch gradient descent; return its parameters."""
    cls = sub.get(name)
    net = _call(f"{name}(...)", cls, **kwargs)
    for step in range(steps):
        value, grads = pair(_call(f"{name}.loss(X, y) at step {step}", net.loss, X, y),
                             f"{name}.loss(X, y)", "(loss, grads)")
        if not isinstance(grads, dict):
            raise ContractError(f"{name}.loss(X, y) returned grads of type "
                                f"{type(grads).__name__}; expected a dict")
        for k, g in grads.items():
            net.params[k] = net.params[k] - learning_rate * np.asarray(g)
    return {"params": plain(dict(net.params)), "loss": plain(value)}


SCENARIOS: dict[str, Callable[..., Any]] = {"train_spiral": train_spiral}
