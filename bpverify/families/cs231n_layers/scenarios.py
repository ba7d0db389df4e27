"""CS231n's scenarios (worker side): a layer's forward and backward through its cache, a loss,
a net's ``loss(X)`` and ``loss(X, y)`` (also with every layer function it calls recorded), each
returning plain data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.namespace import call_student as _call
from bpverify.submission.replies import LayerReply, LossReply, NetReply, NetTracedReply
from bpverify.submission.scenarios import copied, pair, plain, traced_calls

__all__ = ["BATCHABLE", "SCENARIOS", "TRACED_LAYERS"]


def layer(
    sub: LoadedSubmission, forward: str, backward: str | None, inputs: list[Any], dout: Any
) -> LayerReply:
    fwd = sub.get(forward)
    ins = [copied(v) for v in inputs]
    out, cache = pair(_call(forward, fwd, *ins), forward, "(out, cache)")
    after_forward = plain(ins)
    if backward is None:
        return {"out": plain(out), "inputs_after_forward": after_forward,
                "inputs_after": plain(ins)}
    d = copied(dout)
    grads = plain(_call(backward, sub.get(backward), d, cache))
    return {"out": plain(out), "inputs_after_forward": after_forward, "grads": grads,
            "dout_after": plain(d), "inputs_after": plain(ins)}


def layer_forward(sub: LoadedSubmission, forward: str, inputs: list[Any]) -> Any:
    out, _ = pair(
        _call(forward, sub.get(forward), *[copied(v) for v in inputs]), forward, "(out, cache)"
    )
    return plain(out)


def loss(sub: LoadedSubmission, name: str, scores: np.ndarray, y: np.ndarray) -> LossReply:
    s, labels = copied(scores), copied(y)
    value, dscores = pair(_call(name, sub.get(name), s, labels), name, "(loss, dscores)")
    return {"loss": plain(value), "dscores": plain(dscores), "inputs_after": plain([s, labels])}


def _make_net(
    sub: LoadedSubmission, name: str, kwargs: dict[str, Any], params: dict[str, Any]
) -> Any:
    cls = sub.get(name)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    net = _call(f"{name}({args})", cls, **kwargs)
    own = getattr(net, "params", None)
    if not isinstance(own, dict):
        raise ContractError(
            f"{name}({args}).params is {type(own).__name__}; expected a dict of arrays"
        )
    missing = sorted(set(params) - set(own))
    if missing:
        raise ContractError(
            f"{name}({args}).params has keys {sorted(own)}; expected also {missing}"
        )
    for k, v in params.items():
        # Keep the submission's dtype (CS231n nets may work in float32).
        dtype = own[k].dtype if isinstance(own[k], np.ndarray) else np.float64
        own[k] = np.array(v, dtype=dtype, copy=True)
    return net


def net(
    sub: LoadedSubmission,
    name: str,
    kwargs: dict[str, Any],
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
) -> NetReply:
    n = _make_net(sub, name, kwargs, params)
    scores = plain(_call(f"{name}.loss(X)", n.loss, copied(X)))
    n = _make_net(sub, name, kwargs, params)
    value, grads = pair(_call(f"{name}.loss(X, y)", n.loss, copied(X), copied(y)),
                         f"{name}.loss(X, y)", "(loss, grads)")
    return {"scores": scores, "loss": plain(value), "grads": plain(grads)}


def net_loss(
    sub: LoadedSubmission,
    name: str,
    kwargs: dict[str, Any],
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
) -> Any:
    n = _make_net(sub, name, kwargs, params)
    value, _ = pair(_call(f"{name}.loss(X, y)", n.loss, copied(X), copied(y)),
                     f"{name}.loss(X, y)", "(loss, grads)")
    return plain(value)


#: The layer functions a net's loss is replayed with, traced.
TRACED_LAYERS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                 "softmax_loss")


def net_traced(
    sub: LoadedSubmission,
    name: str,
    kwargs: dict[str, Any],
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
) -> NetTracedReply:
    """Run ``loss(X, y)`` with every layer function the net calls recorded
    (:func:`~bpverify.submission.scenarios.traced_calls`: through helpers too, each backward
    call linked to the forward call that produced its cache)."""
    n = _make_net(sub, name, kwargs, params)
    value, calls = traced_calls(sub, n, TRACED_LAYERS,
                                lambda: _call(f"{name}.loss(X, y)", n.loss, copied(X), copied(y)))
    loss, grads = pair(value, f"{name}.loss(X, y)", "(loss, grads)")
    return {"calls": calls, "loss": plain(loss), "grads": plain(grads)}


SCENARIOS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (layer, layer_forward, loss, net, net_loss, net_traced)
}
#: The scenarios ``many`` may batch: each returns a forward's value and keeps nothing.
BATCHABLE = ("layer_forward", "loss", "net_loss")
