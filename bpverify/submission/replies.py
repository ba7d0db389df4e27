"""What each scenario returns: the boundary's replies, as typed dicts.

A scenario (:mod:`bpverify.submission.scenarios`) runs the submission and returns plain data
(:func:`~bpverify.submission.plain`); these types name its keys so that the grader reads
``reply["inputs_after_forward"]`` from a declared field, not from a string it hopes is there.
Values the submission produced are typed ``Any``: they are whatever it returned (made plain),
and the grading side checks them (:mod:`bpverify.contract`'s ``as_gradients`` and the checks)
before it trusts them.  Only the inventory is checked on arrival from the worker, because the
engine indexes into it before any check runs.

Plain dicts on the wire: TypedDicts cost nothing to encode and decode.  Keys a scenario leaves
out in some calls are declared in a ``total=False`` part.
"""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "CircuitReply",
    "CircuitStep",
    "GatePairReply",
    "GateReply",
    "InventoryReply",
    "LayerReply",
    "LossReply",
    "ManyReply",
    "NetReply",
    "NetTracedReply",
    "TracedCall",
    "TrainReply",
]


class _InventoryRequired(TypedDict):
    names: dict[str, str]  #: contract name -> type name of the submission's object
    load_errors: list[str]  #: why (part of) the submission failed to import


class InventoryReply(_InventoryRequired, total=False):
    """``inventory``: what the submission defines."""

    notes: list[str]  #: what the loader wants the grader to say (e.g. a layout it assumed)
    unavailable: dict[str, str]  #: contract name -> why its module did not import
    elsewhere: dict[str, str]  #: contract name -> why it is not part of this submission


class GateReply(TypedDict):
    """``gate``: one forward and one backward call of a fresh gate."""

    out: Any  #: what forward returned
    grads: Any  #: what backward returned
    inputs_after_forward: list[Any]  #: the inputs after forward (to catch in-place edits)
    inputs_after: list[Any]  #: the inputs after backward
    dout_after: Any  #: the upstream gradient after backward


class GatePairReply(TypedDict):
    """``gate_pair``: two instances forwarded before either runs backward."""

    grads_a: Any
    grads_b: Any


class _LayerRequired(TypedDict):
    out: Any  #: the first element of forward's (out, cache)
    inputs_after_forward: list[Any]
    inputs_after: list[Any]


class LayerReply(_LayerRequired, total=False):
    """``layer``: a layer's forward and, when a backward is named, its backward."""

    grads: Any  #: what backward returned (only with a backward)
    dout_after: Any  #: the upstream gradient after backward (only with a backward)


class LossReply(TypedDict):
    """``loss``: ``(loss, dscores)`` of a loss function."""

    loss: Any
    dscores: Any
    inputs_after: list[Any]  #: [scores, y] after the call


#: ``many``: the replies of a batch of forward-value scenarios, in order (maybe only the first
#: ones, when its time limit stopped it).
ManyReply = list[Any]


class NetReply(TypedDict):
    """``net``: ``loss(X)`` (the scores) and ``loss(X, y)`` of fresh nets with given params."""

    scores: Any
    loss: Any
    grads: Any


class TrainReply(TypedDict):
    """``train_spiral``: the parameters after training, and the last loss."""

    params: dict[str, Any]
    loss: Any


class _TracedCallRequired(TypedDict):
    fn: str  #: which layer function (a name given to ``scenarios.traced_calls``)


class TracedCall(_TracedCallRequired, total=False):
    """One layer-function call recorded by ``scenarios.traced_calls``."""

    args: list[Any]  #: a forward call's (or loss's) arguments
    dout: Any  #: a backward call's upstream gradient
    forward: int  #: a backward call's forward call (index into ``calls``), -1 if unknown
    out: Any  #: what it returned (a forward's ``out`` without the cache)
    mode: str  #: the ``mode`` of a dict argument (bn_param, dropout_param), when it has one


class NetTracedReply(TypedDict):
    """``net_traced``: ``loss(X, y)`` with every layer-function call recorded, in order."""

    calls: list[TracedCall]
    loss: Any
    grads: Any


class _CircuitStepRequired(TypedDict):
    inputs: list[Any]  #: the gate's forward inputs
    output: Any  #: what its forward returned


class CircuitStep(_CircuitStepRequired, total=False):
    """One gate of a circuit, in forward order; the backward fields only after backward."""

    upstream: Any  #: the gradient arriving at its output
    grads: Any  #: what its backward returned


class CircuitReply(TypedDict):
    """``circuit``: every gate's values, and the gradient of each input wire."""

    steps: list[CircuitStep]
    input_grads: dict[str, Any]
