"""Calling the submission's dropout (worker side: numpy only).

The reply carries what the forward did (``out``, and the mask found in its cache) and what
``p`` was taken to mean; the grader judges the output against the submission's own mask, so
no random number generator has to agree with the grader's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.families.dropout.contract import p_meaning
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.scenarios import copied, plain

__all__ = ["SCENARIOS"]

_WHERE = "dropout_forward(x, dropout_param)"


def _cached_mask(cache: Any, x: np.ndarray) -> Any:
    """The array of x's shape in the cache that is not x itself (the mask), else None."""
    parts = cache if isinstance(cache, (tuple, list)) else (cache,)
    for part in parts:
        if isinstance(part, np.ndarray) and part.shape == x.shape and part is not x \
                and not np.array_equal(part, x):
            return plain(part.astype(np.float64) if part.dtype == bool else part)
    return None


def dropout(sub: LoadedSubmission, x: Any, param: dict[str, Any], dout: Any,
            backward: bool) -> dict[str, Any]:
    fwd = sub.get("dropout_forward")
    meaning, source = p_meaning(fwd, getattr(sub, "options", {}))
    ins, own = copied(x), dict(param)
    value = call_student("dropout_forward", fwd, ins, own)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ContractError(
            f"{_WHERE} returned {type(value).__name__}; expected a pair (out, cache)",
            where=_WHERE, returned_none=value is None,
            returned_count=len(value) if isinstance(value, (tuple, list)) else None,
            expected_count=2)
    out, cache = value
    reply: dict[str, Any] = {"out": plain(out), "p_means": meaning, "p_source": source,
                             "mask": _cached_mask(cache, x), "inputs_after_forward": plain(ins)}
    if backward:
        d = copied(dout)
        reply["dx"] = plain(call_student("dropout_backward", sub.get("dropout_backward"), d,
                                         cache))
        reply["dout_after"] = plain(d)
    reply["inputs_after"] = plain(ins)
    return reply


SCENARIOS: dict[str, Callable[..., Any]] = {"dropout": dropout}
