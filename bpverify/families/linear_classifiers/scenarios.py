"""Call a linear classifier's loss on the grader's inputs (worker side: numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.scenarios import copied, plain

__all__ = ["BATCHABLE", "SCENARIOS", "linear_loss"]


def linear_loss(sub: LoadedSubmission, name: str, W: np.ndarray, X: np.ndarray, y: np.ndarray,
                reg: float) -> dict[str, Any]:
    """``name(W, X, y, reg)`` on copies: its loss and dW, and the inputs as it left them."""
    ins = [copied(W), copied(X), copied(y)]
    value = call_student(f"{name}(W, X, y, reg)", sub.get(name), *ins, reg)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        n = f" of {len(value)}" if isinstance(value, (tuple, list)) else ""
        raise ContractError(f"{name}(W, X, y, reg) returned {type(value).__name__}{n}; "
                            "expected a pair (loss, dW)", where=f"{name}(W, X, y, reg)",
                            returned_none=value is None,
                            returned_count=len(value) if isinstance(value, (tuple, list))
                            else None, expected_count=2)
    return {"loss": plain(value[0]), "dW": plain(value[1]), "inputs_after": plain(ins)}


def linear_defined(sub: LoadedSubmission, names: list[str]) -> list[str]:
    """Those of ``names`` the submission defines (the naive version a vectorized one is
    compared with may be missing)."""
    return [n for n in names if sub.names.get(n) is not None]


SCENARIOS = {"linear_loss": linear_loss, "linear_defined": linear_defined}
BATCHABLE = ("linear_loss",)
