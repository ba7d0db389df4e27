"""Call the submission's recurrent layers on the grader's inputs (worker side: numpy only).

``recurrent_layer`` runs a forward and, if asked, its backward on the cache the forward
returned; ``recurrent_forward`` runs a forward alone (the numerical check sends many of them
at once); ``recurrent_loss`` runs ``temporal_softmax_loss``.  Inputs are copies, so that an
in-place change is seen; every value comes back as plain data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import numpy as np

from bpverify.contract import ContractError
from bpverify.families.recurrent.contract import SPECS
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.scenarios import copied, plain

__all__ = ["BATCHABLE", "SCENARIOS", "LayerReply", "LossReply"]


class LayerReply(TypedDict, total=False):
    """What ``recurrent_layer`` returns: forward's outputs, and backward's gradients."""

    outs: list[Any]  #: forward's values before the cache, in order
    inputs_after_forward: list[Any]
    grads: Any  #: what backward returned, as it returned it
    upstream_after: list[Any]  #: the upstream gradients after backward
    inputs_after: list[Any]  #: the inputs after forward and backward


class LossReply(TypedDict):
    loss: Any
    dx: Any
    inputs_after: list[Any]


def _outputs(value: Any, where: str, names: tuple[str, ...]) -> list[Any]:
    """Forward's values before its cache, or a ContractError saying what was expected."""
    expected = f"a tuple ({', '.join(names)}, cache)"
    if value is None:
        raise ContractError(f"{where} returned None; expected {expected}. Did you forget a "
                            "return statement?", where=where, returned_none=True)
    if not isinstance(value, (tuple, list)) or len(value) != len(names) + 1:
        n = len(value) if isinstance(value, (tuple, list)) else None
        got = f"{type(value).__name__} of {n} values" if n is not None else \
            f"a single {type(value).__name__}"
        raise ContractError(f"{where} returned {got}; expected {expected}", where=where,
                            returned_count=n, expected_count=len(names) + 1)
    return list(value)


def _forward(sub: LoadedSubmission, base: str, inputs: list[Any]) -> tuple[list[Any], Any,
                                                                           list[Any]]:
    spec = SPECS[base]
    ins = [copied(v) for v in inputs]
    where = spec.forward_call()
    parts = _outputs(call_student(where, sub.get(spec.forward), *ins), where, spec.outputs)
    return parts[:-1], parts[-1], ins


def recurrent_layer(sub: LoadedSubmission, base: str, inputs: list[Any], upstream: list[Any],
                    backward: bool = True) -> LayerReply:
    """``<base>_forward(*inputs)`` and, with ``backward``, ``<base>_backward(*upstream,
    cache)`` on the cache that forward returned."""
    spec = SPECS[base]
    outs, cache, ins = _forward(sub, base, inputs)
    reply: LayerReply = {"outs": [plain(o) for o in outs], "inputs_after_forward": plain(ins)}
    if backward:
        ds = [copied(d) for d in upstream]
        reply["grads"] = plain(call_student(spec.backward_call(), sub.get(spec.backward), *ds,
                                            cache))
        reply["upstream_after"] = plain(ds)
    reply["inputs_after"] = plain(ins)
    return reply


def recurrent_forward(sub: LoadedSubmission, base: str, inputs: list[Any]) -> list[Any]:
    """Forward's outputs alone (no cache kept): what the numerical check differentiates."""
    outs, _, _ = _forward(sub, base, inputs)
    return [plain(o) for o in outs]


def recurrent_loss(sub: LoadedSubmission, x: np.ndarray, y: np.ndarray,
                   mask: np.ndarray) -> LossReply:
    """``temporal_softmax_loss(x, y, mask)``: the loss and dx.  The mask travels as 0/1
    integers (plain data) and is handed over as the course makes it, a boolean array
    (``captions_out != NULL``); it comes back as 0/1 again."""
    ins = [copied(x), copied(y), np.asarray(mask).astype(bool)]
    where = "temporal_softmax_loss(x, y, mask)"
    value = call_student(where, sub.get("temporal_softmax_loss"), *ins)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        n = len(value) if isinstance(value, (tuple, list)) else None
        raise ContractError(
            f"{where} returned {type(value).__name__}"
            + (f" of {n} values" if n is not None else "") + "; expected a pair (loss, dx)",
            where=where, returned_none=value is None, returned_count=n, expected_count=2)
    after = [*ins[:2], np.asarray(ins[2]).astype(np.int64)]
    return {"loss": plain(value[0]), "dx": plain(value[1]), "inputs_after": plain(after)}


#: The scenarios that compute forward values only (the numerical check batches them).
BATCHABLE = ("recurrent_forward", "recurrent_loss")

SCENARIOS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (recurrent_layer, recurrent_forward, recurrent_loss)
}
