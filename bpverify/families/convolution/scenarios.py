"""ThreeLayerConvNet's loss with every layer call it makes recorded (worker side: numpy only).

The checks themselves call the core's ``net`` and ``net_loss`` scenarios; this one serves the
blame of a failure: the net is built as they build it, its params overwritten, and its
``loss(X, y)`` run with the layer functions it may call traced (the naive layers, the course's
fast layers and their stand-ins, affine, ReLU, softmax_loss).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.families.convolution.contract import CONV_NET, NET_TRACED
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.scenarios import copied, pair, plain, traced_calls

__all__ = ["SCENARIOS"]


def conv_net_traced(sub: LoadedSubmission, kwargs: dict[str, Any], params: dict[str, Any],
                    X: Any, y: Any) -> dict[str, Any]:
    """``loss(X, y)`` of a fresh net with the grader's params: loss, grads and the calls."""
    shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    net = call_student(f"{CONV_NET}({shown})", sub.get(CONV_NET), **kwargs)
    own = getattr(net, "params", None)
    if not isinstance(own, dict) or set(params) - set(own):
        raise ContractError(f"{CONV_NET}({shown}).params lacks the keys {sorted(params)}")
    for k, v in params.items():
        dtype = own[k].dtype if isinstance(own[k], np.ndarray) else np.float64
        own[k] = np.array(v, dtype=dtype, copy=True)
    where = f"{CONV_NET}.loss(X, y)"
    value, calls = traced_calls(sub, net, NET_TRACED, lambda: call_student(
        where, net.loss, copied(X), copied(y)))
    loss, grads = pair(value, where, "(loss, grads)")
    return {"loss": plain(loss), "grads": plain(grads), "calls": calls}


SCENARIOS: dict[str, Callable[..., Any]] = {"conv_net_traced": conv_net_traced}
