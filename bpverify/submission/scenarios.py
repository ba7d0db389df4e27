"""Scenarios: call the submission's code on inputs the grader chose and return plain data only.

A scenario returns floats, numeric arrays (copies), tuples, lists, dicts, None and
:class:`~bpverify.contract.Opaque` placeholders.  The grader never compares anything here; it
receives the plain data and judges it.  Keeping this boundary strict lets the same scenarios
run in-process or in an isolated worker.

Long because it is the registry: one short function per scenario of the default contract, in
one place that the worker, the typed replies and the docs can be read against.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify import registry
from bpverify.contract import CIRCUITS, GATES, ContractError, Opaque, as_gradients
from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.namespace import call_student as _call
from bpverify.submission.replies import (
    CircuitReply,
    CircuitStep,
    GatePairReply,
    GateReply,
    InventoryReply,
    LayerReply,
    LossReply,
    ManyReply,
    NetReply,
    NetTracedReply,
    TracedCall,
    TrainReply,
)

__all__ = ["SCENARIOS", "InProcessExecutor", "copied", "plain", "run_scenario", "scenario_named"]


# --- plain data -------------------------------------------------------------------------


def plain(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` made of plain data only; anything else becomes :class:`Opaque`."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return Opaque("bool", str(bool(value)))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "fiu":
        return np.array(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fiu" and value.dtype.itemsize <= 8:
            return np.array(value, copy=True)
        return Opaque(f"ndarray of dtype {value.dtype}")
    if depth < 3 and isinstance(value, (tuple, list)):
        items = [plain(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if depth < 3 and isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    return Opaque(type(value).__name__)


def copied(v: Any) -> Any:
    """An input as handed to the submission: arrays copied, so in-place edits are seen."""
    return np.array(v, copy=True) if isinstance(v, np.ndarray) else v


def _pair(value: Any, where: str, what: str) -> tuple[Any, Any]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        n = f" of {len(value)}" if isinstance(value, (tuple, list)) else ""
        raise ContractError(
            f"{where} returned {type(value).__name__}{n}; expected a pair {what}"
        )
    return value[0], value[1]


# --- scenarios ----------------------------------------------------------------------------


def _make_gate(sub: LoadedSubmission, name: str, const: float | None) -> Any:
    cls = sub.get(name)
    args = () if const is None else (const,)
    return _call(f"{name}({', '.join(map(repr, args))})", cls, *args)


def inventory(sub: LoadedSubmission) -> InventoryReply:
    return {
        "names": {n: type(o).__name__ for n, o in sub.names.items()},
        "load_errors": list(sub.load_errors),
        "notes": list(sub.notes),
        "unavailable": dict(sub.unavailable),
    }


def gate(
    sub: LoadedSubmission, name: str, const: float | None, inputs: list[Any], dout: Any
) -> GateReply:
    g = _make_gate(sub, name, const)
    ins = [copied(v) for v in inputs]
    out = plain(_call(f"{name}.forward", g.forward, *ins))
    after_forward = plain(ins)
    d = copied(dout)
    grads = plain(_call(f"{name}.backward", g.backward, d))
    return {
        "out": out,
        "grads": grads,
        "inputs_after_forward": after_forward,
        "inputs_after": plain(ins),
        "dout_after": plain(d),
    }


def gate_forward(sub: LoadedSubmission, name: str, const: float | None, inputs: list[Any]) -> Any:
    g = _make_gate(sub, name, const)
    return plain(_call(f"{name}.forward", g.forward, *[copied(v) for v in inputs]))


def gate_pair(
    sub: LoadedSubmission,
    name: str,
    consts: tuple[float | None, float | None],
    inputs_a: list[Any],
    inputs_b: list[Any],
    dout_a: Any,
    dout_b: Any,
) -> GatePairReply:
    """Two instances forwarded before either runs backward, as in any circuit."""
    ga, gb = _make_gate(sub, name, consts[0]), _make_gate(sub, name, consts[1])
    _call(f"{name}.forward (first instance)", ga.forward, *[copied(v) for v in inputs_a])
    _call(f"{name}.forward (second instance)", gb.forward, *[copied(v) for v in inputs_b])
    grads_a = plain(_call(f"{name}.backward (first instance)", ga.backward, copied(dout_a)))
    grads_b = plain(_call(f"{name}.backward (second instance)", gb.backward, copied(dout_b)))
    return {"grads_a": grads_a, "grads_b": grads_b}


def layer(
    sub: LoadedSubmission, forward: str, backward: str | None, inputs: list[Any], dout: Any
) -> LayerReply:
    fwd = sub.get(forward)
    ins = [copied(v) for v in inputs]
    out, cache = _pair(_call(forward, fwd, *ins), forward, "(out, cache)")
    after_forward = plain(ins)
    if backward is None:
        return {"out": plain(out), "inputs_after_forward": after_forward,
                "inputs_after": plain(ins)}
    d = copied(dout)
    grads = plain(_call(backward, sub.get(backward), d, cache))
    return {"out": plain(out), "inputs_after_forward": after_forward, "grads": grads,
            "dout_after": plain(d), "inputs_after": plain(ins)}


def layer_forward(sub: LoadedSubmission, forward: str, inputs: list[Any]) -> Any:
    out, _ = _pair(
        _call(forward, sub.get(forward), *[copied(v) for v in inputs]), forward, "(out, cache)"
    )
    return plain(out)


def loss(sub: LoadedSubmission, name: str, scores: np.ndarray, y: np.ndarray) -> LossReply:
    s, labels = copied(scores), copied(y)
    value, dscores = _pair(_call(name, sub.get(name), s, labels), name, "(loss, dscores)")
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
    value, grads = _pair(_call(f"{name}.loss(X, y)", n.loss, copied(X), copied(y)),
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
    value, _ = _pair(_call(f"{name}.loss(X, y)", n.loss, copied(X), copied(y)),
                     f"{name}.loss(X, y)", "(loss, grads)")
    return plain(value)


def train_spiral(
    sub: LoadedSubmission, name: str, kwargs: dict[str, Any], X: np.ndarray, y: np.ndarray,
    steps: int, learning_rate: float,
) -> TrainReply:
    """Train the submission's net by full-batch gradient descent; return its parameters."""
    cls = sub.get(name)
    net = _call(f"{name}(...)", cls, **kwargs)
    for step in range(steps):
        value, grads = _pair(_call(f"{name}.loss(X, y) at step {step}", net.loss, X, y),
                             f"{name}.loss(X, y)", "(loss, grads)")
        if not isinstance(grads, dict):
            raise ContractError(f"{name}.loss(X, y) returned grads of type "
                                f"{type(grads).__name__}; expected a dict")
        for k, g in grads.items():
            net.params[k] = net.params[k] - learning_rate * np.asarray(g)
    return {"params": plain(dict(net.params)), "loss": plain(value)}


#: The layer functions a net's loss is replayed with, traced.
TRACED_LAYERS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                 "softmax_loss")


def _in_order(fn: Callable[..., Any], args: tuple[Any, ...], kw: dict[str, Any]) -> list[Any]:
    """A call's arguments, positional and keyword, in the order of ``fn``'s parameters."""
    if not kw:
        return list(args)
    try:
        return list(inspect.signature(fn).bind(*args, **kw).arguments.values())
    except (TypeError, ValueError):  # no signature, or a call it does not accept
        return [*args, *kw.values()]


def net_traced(
    sub: LoadedSubmission,
    name: str,
    kwargs: dict[str, Any],
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
) -> NetTracedReply:
    """Run ``loss(X, y)`` with every layer function the net calls recorded.

    The functions are swapped, for this call only, in the globals of the net's own module and
    of every module of the submission, so calls made through helpers (``affine_relu_forward``
    in a layer_utils module) are seen too.  A backward call is linked to the forward call that
    produced its cache.
    """
    n = _make_net(sub, name, kwargs, params)
    calls: list[TracedCall] = []
    producer: dict[int, int] = {}  # id(cache) -> index of the forward call that returned it
    keep: list[Any] = []  # keeps caches alive so that their ids stay unique

    def traced(fname: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            record: TracedCall = {"fn": fname}
            calls.append(record)
            values = _in_order(fn, args, kw)  # keyword arguments too, in the signature's order
            if fname.endswith("_backward") and len(values) >= 2:
                record["dout"] = plain(values[0])
                record["forward"] = producer.get(id(values[1]), -1)
            else:
                record["args"] = plain(values)
            result = fn(*args, **kw)
            if fname.endswith("_forward") and isinstance(result, tuple) and len(result) == 2:
                producer[id(result[1])] = len(calls) - 1
                keep.append(result[1])
                record["out"] = plain(result[0])
            else:
                record["out"] = plain(result)
            return result

        return wrapper

    modules = list(sub.modules)
    own = sys.modules.get(type(n).__module__)
    if own is not None and own not in modules:
        modules.append(own)
    patched = []
    for mod in modules:
        for fname in TRACED_LAYERS:
            fn = mod.__dict__.get(fname)
            if callable(fn):
                mod.__dict__[fname] = traced(fname, fn)
                patched.append((mod, fname, fn))
    try:
        value, grads = _pair(_call(f"{name}.loss(X, y)", n.loss, copied(X), copied(y)),
                             f"{name}.loss(X, y)", "(loss, grads)")
    finally:
        for mod, fname, fn in patched:
            mod.__dict__[fname] = fn
    return {"calls": calls, "loss": plain(value), "grads": plain(grads)}


def circuit(
    sub: LoadedSubmission, name: str, values: dict[str, float], dout: float,
    backward: bool = True,
) -> CircuitReply:
    """Run a circuit built from the submission's own gates and record every gate's values."""
    spec = CIRCUITS[name]
    wires: dict[str, Any] = dict(values)
    steps: list[CircuitStep] = []
    gates = []
    for node in spec.nodes:
        g = _make_gate(sub, node.gate, node.const)
        ins = [wires[w] for w in node.inputs]
        out = _call(f"{node.gate}.forward ({node.label} gate)", g.forward, *ins)
        wires[node.output] = out
        gates.append(g)
        steps.append({"inputs": plain(ins), "output": plain(out)})
    if not backward:
        return {"steps": steps, "input_grads": {}}
    grads: dict[str, Any] = {spec.output: dout}
    for node, g, step in zip(reversed(spec.nodes), reversed(gates), reversed(steps)):
        upstream = grads.get(node.output, 0.0)
        raw = _call(f"{node.gate}.backward ({node.label} gate)", g.backward, upstream)
        step["upstream"] = plain(upstream)
        step["grads"] = plain(raw)
        parts = as_gradients(
            raw, GATES[node.gate].grads, f"{node.gate}.backward ({node.label} gate)"
        )
        for wire, part in zip(node.inputs, parts):
            grads[wire] = grads[wire] + part if wire in grads else part  # fan-out adds
    return {"steps": steps, "input_grads": {w: plain(grads.get(w, 0.0)) for w in spec.inputs}}


#: The scenarios ``many`` runs: each returns a forward's value and keeps nothing between calls.
BATCHABLE = ("gate_forward", "layer_forward", "loss", "net_loss")


def many(
    sub: LoadedSubmission, calls: list[tuple[str, dict[str, Any]]],
    time_limit: float | None = None,
) -> ManyReply:
    """Run several forward-value scenarios (:data:`BATCHABLE`) in one request, in order.

    Returns their replies in order; an error in one of them leaves as it would from that call
    alone.  With ``time_limit`` (seconds), no further call starts once it would likely end past
    the limit (elapsed time plus the longest call so far): the replies of the calls made come
    back, at least one, so that a slow submission is never timed out by a batch.
    """
    replies: ManyReply = []
    start = time.monotonic()
    longest = 0.0
    for scenario, kwargs in calls:
        batchable = (*BATCHABLE, *registry.batchable())
        if scenario not in batchable:
            raise ValueError(f"many: scenario {scenario!r} cannot be batched; expected one of "
                             f"{', '.join(batchable)}")
        if replies and time_limit is not None:
            elapsed = time.monotonic() - start
            if elapsed + longest > time_limit:
                break
        began = time.monotonic()
        replies.append(scenario_named(scenario)(sub, **kwargs))
        longest = max(longest, time.monotonic() - began)
    return replies


SCENARIOS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (inventory, gate, gate_forward, gate_pair, layer, layer_forward, loss, net,
              net_loss, net_traced, train_spiral, circuit, many)
}


def scenario_named(name: str) -> Callable[..., Any]:
    """The scenario called ``name``: one of :data:`SCENARIOS` or of a registered family."""
    found = SCENARIOS.get(name) or registry.scenarios().get(name)
    if found is None:
        raise KeyError(f"unknown scenario {name!r}")
    return found


def run_scenario(sub: LoadedSubmission, scenario: str, **kwargs: Any) -> Any:
    """Run one scenario; only StudentError and ContractError leave it."""
    fn = scenario_named(scenario)
    with np.errstate(all="ignore"):
        return fn(sub, **kwargs)


class InProcessExecutor:
    """Runs scenarios in the grader's own process (fast; no isolation)."""

    sandbox = "in-process (no isolation)"

    def __init__(self, submission: LoadedSubmission) -> None:
        self.submission = submission

    def call(self, scenario: str, **kwargs: Any) -> Any:
        return run_scenario(self.submission, scenario, **kwargs)

    def begin_item(self, name: str) -> None:
        """Nothing to reset: in this process no item has a budget of its own."""

    def close(self) -> None:
        pass
