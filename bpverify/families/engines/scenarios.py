"""Scalar autograd engines (micrograd's ``Value``): run programs, replay nodes.

The engine is found by :mod:`.finder` (re-exported here).

The grader sends a *program* as plain data and never sees the engine's objects::

    {"leaves": [2.0, -3.0],
     "nodes": [{"op": "*", "args": [["v", 0], ["v", 1]]},      # slot 2 = a * b
               {"op": "+", "args": [["v", 2], ["c", 1.5]]}]}    # slot 3 = slot 2 + 1.5

Slots are the leaves, then one per node; an argument is a slot (``["v", i]``) or a Python
number (``["c", x]``, on either side: ``2 - a`` runs ``__rsub__``).  The last node is the
output.  :func:`engine_program` builds it with the submission's class, runs ``backward()`` on
the output and returns every slot's value and gradient, the order in which the nodes' closures
ran and the gradient each one had then, and a *replay*: each node's closures run alone, with
a known upstream gradient and its operands' gradients preset, so the grader can judge each
node's local rule and whether it adds to a gradient or overwrites it.
"""

from __future__ import annotations

import inspect
import math
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from bpverify.families.engines.contract import METHODS_ITEM
from bpverify.families.engines.finder import (
    CHILDREN_ATTRS,
    data_attr,
    dtype_of,
    engine_class,
    find_engine,
    grad_attr,
    number_of,
)
from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.namespace import call_student as _call

__all__ = ["SCENARIOS", "deep", "engine_forward", "engine_info", "engine_methods", "engine_program",
           "find_engine"]

#: Where engines keep a node's closure and its operands (micrograd: ``_backward``, ``_prev``).
CLOSURE_ATTRS = ("_backward", "_backward_fn", "backward_fn", "_grad_fn", "grad_fn", "backward")
#: Recursive topological sorts are legitimate: the 200-step chain is up to ~600 nodes deep (an
#: operation built from others adds nodes), more than Python's default 1000 frames allow with
#: two frames a level.  Higher costs time when an operator calls itself forever (each
#: RecursionError unwinds this many frames).
RECURSION_LIMIT = 5000
#: The stack of the thread a program runs in: 20000 levels of operator recursion take ~10 MB,
#: so RECURSION_LIMIT levels fit with a wide margin.
STACK_BYTES = 64 * 2**20
_T = TypeVar("_T")


# --- running a program --------------------------------------------------------------------


def _apply(op: str, args: Sequence[Any]) -> Any:
    a = args[0]
    if op.startswith("."):  # a method the engine adds: ".softplus" runs a.softplus(*rest)
        return getattr(a, op[1:])(*args[1:])
    if op == "+":
        return a + args[1]
    if op == "-":
        return a - args[1]
    if op == "*":
        return a * args[1]
    if op == "/":
        return a / args[1]
    if op in ("**", "rpow"):  # rpow: a constant base, so Python calls the value's __rpow__
        return a ** args[1]
    if op == "neg":
        return -a
    return getattr(a, op)()


class _Calls:
    """Which methods of the engine's class run while one node is built: ``a - b`` may run
    ``__sub__``, then ``__neg__`` and ``__mul__`` inside it (a - b built as a + b * -1)."""

    def __init__(self, cls: type) -> None:
        self.codes: dict[Any, str] = {}
        for klass in reversed(cls.__mro__[:-1]):  # not object's
            for name, fn in vars(klass).items():
                code = getattr(getattr(fn, "__func__", fn), "__code__", None)
                if code is not None:
                    self.codes[code] = name
        self.seen: list[str] = []

    def hook(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            name = self.codes.get(frame.f_code)
            if name is not None and name not in self.seen:
                self.seen.append(name)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.seen = []
        before = sys.getprofile()
        sys.setprofile(self.hook)
        try:
            return fn(*args)
        finally:
            sys.setprofile(before)


class _Built:
    """A program built with the engine: every slot's object, and where each came from.

    ``calls``: also record, per node, the class's methods that ran while it was built.
    """

    def __init__(self, cls: type, program: Mapping[str, Any], names: Sequence[str],
                 calls: bool = False) -> None:
        self.slots: list[Any] = []
        self.detached: dict[str, Any] = {}
        self.calls: list[list[str]] = []
        recorder = _Calls(cls) if calls else None
        for k, x in enumerate(program["leaves"]):
            self.slots.append(_call(f"{names[k]} = {cls.__name__}({x!r})", cls, float(x)))
        for j, node in enumerate(program["nodes"]):
            args = [self.slots[i] if kind == "v" else i for kind, i in node["args"]]
            slot = len(self.slots)
            where = f"{names[slot]} = {node.get('code', node['op'])}"
            if recorder is None:
                out = _call(where, _apply, node["op"], args)
            else:
                try:
                    out = recorder.run(_call, where, _apply, node["op"], args)
                finally:
                    self.calls.append(recorder.seen)
            if not isinstance(out, engine_class(cls)):
                self.detached = {"node": j, "type": type(out).__name__}
                break
            self.slots.append(out)


def _attrs(cls: type, built: _Built, program: Mapping[str, Any]) -> tuple[str, str, str, str]:
    data = data_attr(cls(1.5)) or "data"
    grad = grad_attr(cls(1.5)) or "grad"
    closure = children = ""
    first = len(program["leaves"])
    for j in range(len(program["nodes"])):
        out = built.slots[first + j] if first + j < len(built.slots) else None
        if out is None:
            break
        own = vars(out) if hasattr(out, "__dict__") else {}
        # an operation built from others (a - b as a + (-b)) holds an inner node, not b
        children = children or next(
            (a for a in CHILDREN_ATTRS if isinstance(own.get(a), (set, list, tuple, frozenset))
             and own[a] and all(isinstance(c, engine_class(cls)) for c in own[a])), "")
        closure = closure or next((a for a in CLOSURE_ATTRS if callable(own.get(a))), "")
        if closure and children:
            break
    return data, grad, closure, children


def _children(node: Any, attr: str) -> list[Any]:
    kids = getattr(node, attr, ()) if attr else ()
    return list(kids) if isinstance(kids, (set, list, tuple, frozenset)) else []


def _topo(root: Any, attr: str, stop: Sequence[Any] = (),
          kept: Mapping[int, list[Any]] | None = None) -> list[Any]:
    """Nodes reachable from ``root`` (not past ``stop``), children before parents; iterative.

    ``kept``: each node's children as they were before ``backward()`` (an engine may free its
    graph afterwards, as PyTorch does without ``retain_graph``)."""
    stop_ids = {id(s) for s in stop}
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if id(node) in stop_ids and node is not root:
            continue
        kids = kept[id(node)] if kept is not None and id(node) in kept else _children(node, attr)
        for c in kids:
            if id(c) not in seen:
                stack.append((c, False))
    return order


def deep(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` with room for deep recursion: a thread of its own with a large stack, and
    Python's recursion limit raised to :data:`RECURSION_LIMIT` while it runs.

    A recursive topological sort of a deep graph is legitimate; an operator that calls itself
    forever must end in RecursionError, not overflow the C stack and crash the process (the
    grader's own, in-process).
    """
    box: list[Any] = []

    def target() -> None:
        try:
            box.append((True, fn(*args)))
        except BaseException as exc:  # re-raised in the caller's thread
            box.append((False, exc))

    limit = sys.getrecursionlimit()
    size = threading.stack_size()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        threading.stack_size(STACK_BYTES)  # read when the thread starts
        thread = threading.Thread(target=target, name="bpverify-engine", daemon=True)
        try:
            thread.start()
        finally:
            threading.stack_size(size)
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
    ok, result = box[0]
    if not ok:
        raise result
    return result


def _slot_names(program: Mapping[str, Any]) -> list[str]:
    n = len(program["leaves"]) + len(program["nodes"])
    names = list(program.get("names") or [])
    return names + [f"v{k}" for k in range(len(names), n)]


def engine_program(
    sub: LoadedSubmission,
    program: dict[str, Any],
    upstreams: list[float] | None = None,
    preset: float = 0.0,
    backward: bool = True,
    force_upstream: bool = False,
    leaf_sets: list[list[float]] | None = None,
    calls: bool = False,
) -> dict[str, Any]:
    """Build ``program``, run ``backward()`` on its output, then replay every node alone.

    ``upstreams[j]`` is the upstream gradient node j's replay uses when its closure never
    ran during ``backward()`` or saw 0 there; ``preset`` is what its operands' gradients hold
    before the replay (the grader tells adding from overwriting by it).  ``force_upstream``:
    every replay uses ``upstreams`` (an operation judged alone, as if it fed a product).
    ``leaf_sets``: also the output's value for each set of leaf values, in ``"forwards"``
    (what :func:`engine_forward` returns, in the same round trip).  ``calls``: also which
    methods of the class ran while each node was built, in ``"calls"``.
    """
    cls = sub.get("Value")
    names = _slot_names(program)
    reply = deep(_run, cls, program, names, upstreams, preset, backward, force_upstream, calls)
    if leaf_sets is not None:
        reply["forwards"] = engine_forward(sub, program, leaf_sets)
    return reply


def _run(cls: type, program: dict[str, Any], names: list[str], upstreams: list[float] | None,
         preset: float, backward: bool, force: bool, calls: bool = False) -> dict[str, Any]:
    built = _Built(cls, program, names, calls)
    value = data_attr(cls(1.5)) or "data"
    reply: dict[str, Any] = {
        "values": [number_of(getattr(s, value, None)) for s in built.slots],
        "detached": built.detached,
        "calls": built.calls,
    }
    if built.detached or not backward or not program["nodes"]:
        return reply
    data, grad, closure, children = _attrs(cls, built, program)
    reply["attrs"] = {"data": data, "grad": grad, "closure": closure, "children": children}
    out = built.slots[-1]
    reply["shadowed"] = "backward" in (vars(out) if hasattr(out, "__dict__") else {})
    first = len(program["leaves"])
    slot_of = {id(s): k for k, s in enumerate(built.slots)}
    # Record, for each node's closure, when it ran and the gradient its node had then.
    order: list[int] = []
    received: dict[int, float | None] = {}
    originals: dict[int, Callable[[], Any]] = {}
    everything = _topo(out, children) if children else list(built.slots)
    kept = {id(n): _children(n, children) for n in everything}
    if closure and closure != "backward":
        for node in everything:
            fn = vars(node).get(closure) if hasattr(node, "__dict__") else None
            if not callable(fn):
                continue
            originals[id(node)] = fn
            k = slot_of.get(id(node))
            if k is not None and k >= first:
                setattr(node, closure, _recorder(node, k, grad, fn, order, received))
    _call(f"{names[-1]}.backward()", out.backward)
    reply["grads"] = [number_of(getattr(s, grad, None)) for s in built.slots]
    reply["order"] = order
    reply["received"] = [received.get(k) for k in range(first, len(built.slots))]
    if not (closure and children):
        return reply
    # The replay: each node's closures alone, from its output down to its operands.
    replay = []
    for j, node in enumerate(program["nodes"]):
        k = first + j
        target = built.slots[k]
        operands = [built.slots[i] for kind, i in node["args"] if kind == "v"]
        up = None if force else received.get(k)
        if up is None or up == 0 or not math.isfinite(up):
            up = float(upstreams[j]) if upstreams and j < len(upstreams) else 1.0
        inner = _topo(target, children, stop=operands, kept=kept)
        for n in inner:
            _set_grad(n, grad, 0.0)
        for o in operands:
            _set_grad(o, grad, preset)
        _set_grad(target, grad, up)
        for n in reversed(inner):
            if any(n is o for o in operands):
                continue
            fn = originals.get(id(n)) or getattr(n, closure, None)
            if callable(fn):
                # PyTorch-style closures are handed their node's gradient: _grad_fn(grad).
                args = [getattr(n, grad)] if _wants_upstream(fn) else []
                _call(f"{names[k]}.{closure}({f'{names[k]}.{grad}' if args else ''}) (node "
                      f"{names[k]} = {node.get('code', node['op'])})", fn, *args)
        replay.append({"upstream": up,
                       "after": [number_of(getattr(o, grad, None)) for o in operands]})
    reply["replay"] = replay
    return reply


def _set_grad(node: Any, grad: str, x: float) -> None:
    """Set a node's gradient to ``x`` in the type the engine keeps it in: a float32 numpy array
    stays one (an engine's closure may use ``out.grad.ndim``)."""
    old = getattr(node, grad, None)
    value: Any = float(x)
    if type(old).__module__ == "numpy" and hasattr(old, "dtype"):
        import numpy as np

        value = old.dtype.type(x) if isinstance(old, np.generic) else np.full_like(old, x)
    setattr(node, grad, value)


def _wants_upstream(fn: Callable[..., Any]) -> bool:
    """The closure takes its node's gradient as an argument (``_grad_fn(grad)``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    try:
        sig.bind()
        return False
    except TypeError:
        try:
            sig.bind(1.0)
            return True
        except TypeError:
            return False


def _recorder(node: Any, k: int, grad: str, fn: Callable[..., Any], order: list[int],
              received: dict[int, float | None]) -> Callable[..., Any]:
    # Whatever the engine passes its closure (``_grad_fn(grad)`` in some engines) passes on.
    def closure(*args: Any, **kwargs: Any) -> Any:
        order.append(k)
        received.setdefault(k, number_of(getattr(node, grad, None)))
        return fn(*args, **kwargs)

    return closure


def engine_forward(sub: LoadedSubmission, program: dict[str, Any],
                   leaf_sets: list[list[float]]) -> list[float | None]:
    """The output's value for each set of leaf values (the engine's own forward)."""
    cls = sub.get("Value")
    data = data_attr(cls(1.5)) or "data"
    names = _slot_names(program)

    def forward() -> list[float | None]:
        outs: list[float | None] = []
        for leaves in leaf_sets:
            built = _Built(cls, {**program, "leaves": leaves}, names)
            outs.append(None if built.detached else number_of(getattr(built.slots[-1], data, None)))
        return outs

    return deep(forward)


def engine_info(sub: LoadedSubmission) -> dict[str, Any]:
    """What the grader needs to know of the engine before judging it: the dtype of its values
    (float64 for Python floats; float32 for an engine that keeps float32 numpy values)."""
    return {"dtype": dtype_of(_call("Value(1.5)", sub.get("Value"), 1.5))}


def engine_methods(sub: LoadedSubmission) -> list[dict[str, Any]]:
    """The methods the engine adds beyond the usual operations, as the finder found them."""
    return [dict(m) for m in sub.names.get(METHODS_ITEM) or ()]


SCENARIOS: dict[str, Callable[..., Any]] = {
    "engine_info": engine_info,
    "engine_methods": engine_methods,
    "engine_program": engine_program,
    "engine_forward": engine_forward,
}
