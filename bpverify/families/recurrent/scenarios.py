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
from bpverify.families.recurrent.contract import CAPTIONING, CAPTIONING_PARAMS, SPECS, TRACED, WORDS
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.replies import TracedCall
from bpverify.submission.scenarios import copied, plain, traced_calls

__all__ = ["BATCHABLE", "SCENARIOS", "CaptioningReply", "LayerReply", "LossReply"]


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


# --- the captioning net ------------------------------------------------------------------------


class CaptioningReply(TypedDict, total=False):
    loss: Any
    grads: Any
    calls: list[TracedCall]  #: the traced layer calls, in order (``traced=True``)
    unwritten: str  #: the layer the net needs that the folder has not written (not run)


def vocabulary(size: int) -> dict[str, int]:
    """``word_to_idx`` of ``size`` words: the special ones first (<NULL> is 0), then w3, ..."""
    return {w: i for i, w in enumerate([*WORDS, *(f"w{i}" for i in range(len(WORDS), size))])}


def _captioning(sub: LoadedSubmission, cell_type: str, dims: dict[str, int],
                params: dict[str, Any]) -> Any:
    cls = sub.get(CAPTIONING)
    kwargs = {"input_dim": dims["D"], "wordvec_dim": dims["W"], "hidden_dim": dims["H"],
              "cell_type": cell_type, "dtype": np.float64}
    shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()).replace("<class 'numpy.float64'>",
                                                                       "np.float64")
    net = call_student(f"{CAPTIONING}(word_to_idx, {shown})", cls, vocabulary(dims["V"]),
                       **kwargs)
    own = getattr(net, "params", None)
    if not isinstance(own, dict):
        raise ContractError(f"{CAPTIONING}(...).params is {type(own).__name__}; expected a "
                            "dict of arrays")
    missing = [k for k in CAPTIONING_PARAMS if k not in own]
    if missing:
        raise ContractError(f"{CAPTIONING}(...).params has keys {sorted(own)}; expected also "
                            f"{missing}")
    for k in CAPTIONING_PARAMS:
        dtype = own[k].dtype if isinstance(own[k], np.ndarray) else np.float64
        own[k] = np.array(params[k], dtype=dtype, copy=True)
    return net


def _loss_and_grads(value: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        n = len(value) if isinstance(value, (tuple, list)) else None
        raise ContractError(f"{where} returned {type(value).__name__}"
                            + (f" of {n} values" if n is not None else "")
                            + "; expected a pair (loss, grads)", where=where,
                            returned_none=value is None, returned_count=n, expected_count=2)
    return value[0], value[1]


def captioning(sub: LoadedSubmission, cell_type: str, dims: dict[str, int],
               params: dict[str, Any], features: np.ndarray, captions: np.ndarray,
               traced: bool = False) -> CaptioningReply:
    """``CaptioningRNN(...).loss(features, captions)`` with the grader's parameters; with
    ``traced``, the layer calls it made, in order.  An LSTM net whose folder has not written
    lstm_forward yet (extra credit from 2021 on) is not run: the reply says so."""
    if cell_type == "lstm" and _unwritten(sub, "lstm_forward"):
        return {"unwritten": "lstm_forward"}
    net = _captioning(sub, cell_type, dims, params)
    where = f"{CAPTIONING}.loss(features, captions)"
    calls: list[TracedCall] = []

    def run() -> Any:
        return call_student(where, net.loss, copied(features), copied(captions))

    if traced:
        value, calls = traced_calls(sub, net, TRACED, run)
    else:
        value = run()
    loss, grads = _loss_and_grads(value, where)
    reply: CaptioningReply = {"loss": plain(loss), "grads": plain(grads)}
    if traced:
        reply["calls"] = calls
    return reply


def _unwritten(sub: LoadedSubmission, name: str) -> bool:
    """``name`` (a sequence layer) is missing, or still the starter: on a one-step probe it
    raises NotImplementedError or returns None for its output."""
    fn = sub.get(name) if name in sub.names else None
    if fn is None:
        return True
    try:
        out = fn(np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros((1, 4)), np.zeros((1, 4)),
                 np.zeros(4))
    except NotImplementedError:
        return True
    except Exception:
        return False
    first = out[0] if isinstance(out, (tuple, list)) and out else out
    return first is None


def captioning_loss(sub: LoadedSubmission, cell_type: str, dims: dict[str, int],
                    params: dict[str, Any], features: np.ndarray, captions: np.ndarray) -> Any:
    """The loss alone: what the numerical check differentiates."""
    net = _captioning(sub, cell_type, dims, params)
    where = f"{CAPTIONING}.loss(features, captions)"
    loss, _ = _loss_and_grads(call_student(where, net.loss, copied(features), copied(captions)),
                              where)
    return plain(loss)


#: The scenarios that compute forward values only (the numerical check batches them).
BATCHABLE = ("recurrent_forward", "recurrent_loss", "captioning_loss")

SCENARIOS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (recurrent_layer, recurrent_forward, recurrent_loss, captioning,
                            captioning_loss)
}
