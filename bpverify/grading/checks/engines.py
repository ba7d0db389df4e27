"""Scalar autograd engines (micrograd's ``Value``): each operation, and random graphs of them.

An operation's item builds the operation alone and replays its closures with an upstream
gradient that is not 1 (as if it fed a product), against ``jax.vjp`` in float64 and against
centred differences of the engine's own forward.  The graph items build Hypothesis-drawn
programs from the operations the engine has (and gets right on their own, so a wrong ``*``
fails ``Value *`` only): trees (``Value graph``), graphs whose values fan out along paths of
different lengths (``Value fan-out``) and a 200-node chain (``Value deep chain``).  A failing
program is shrunk and printed as code a student can paste; its nodes are replayed one by one to
name the first node, going backward, whose local rule is wrong, or else the engine's fault.
"""

from __future__ import annotations

import contextlib
import functools
import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from bpverify.closeness import tolerance_for
from bpverify.contract.engines import ENGINE_OPS, EngineOp
from bpverify.grading import oracles  # noqa: F401 - sets JAX to float64 before jax is used
from bpverify.grading.checks.base import Case, Check, CheckFailed
from bpverify.model import ElementMismatch, Facts, GateStep
from bpverify.submission import Executor, StudentError

__all__ = ["Program", "engine_checks", "program_oracle", "program_trace"]

_TOL = tolerance_for(float)  # the engines compute with Python floats: float64 tolerances
#: What the operands' gradients hold before a node is replayed: adding keeps it, overwriting
#: loses it.
PRESET = 0.375
#: Step of the centred differences through the engine's forward, relative to the leaf.
STEP = 1e-6
_NICE = (2.0, -3.0, 0.5, 1.5, -0.5, 3.0, -2.0, 4.0, -1.5, 2.5)
_POWERS = (2, 3, -1, 0.5, 2.5, -2)


# --- programs -----------------------------------------------------------------------------


@dataclass
class Program:
    """A program as the grader builds it: plain data for the engine, code for the student."""

    leaves: list[float]
    nodes: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  #: float64 values (domain checks only)
    #: How the program is run after it is built: ``f.backward()`` unless the check says
    #: otherwise (an operation's item: ``c.grad = 0.125; c._backward()``)
    run: list[str] = field(default_factory=list)
    #: program_oracle's answers, once computed (a program realized once is judged thrice)
    memo: dict[bool, tuple[float, list[float], list[float]]] = field(
        default_factory=dict, repr=False, compare=False)

    def plain(self) -> dict[str, Any]:
        return {"leaves": list(self.leaves), "nodes": self.nodes, "names": self.names}

    def operands(self, j: int) -> list[int]:
        return [i for kind, i in self.nodes[j]["args"] if kind == "v"]

    def code(self, comment: str = "") -> str:
        lines = [f"{self.names[k]} = Value({x!r})" for k, x in enumerate(self.leaves)]
        first = len(self.leaves)
        lines += [f"{self.names[first + j]} = {n['code']}" for j, n in enumerate(self.nodes)]
        lines += self.run or [f"{self.names[-1]}.backward()"]
        lines[-1] += f"  # {comment}" if comment else ""
        return "; ".join(lines) if len(lines) <= 8 else "\n".join(lines)


def _name(k: int) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[k] if k < len(letters) else f"v{k}"


def _code(op: EngineOp, form: str, args: Sequence[str]) -> str:
    if form == "v":
        return op.code.format(a=args[0])
    return op.code.format(a=args[0], b=args[1])


def _fmt(x: Any) -> str:
    return repr(x)


def _local_value(op: str, xs: Sequence[float]) -> float:
    a = xs[0]
    b = xs[1] if len(xs) > 1 else 0.0
    table: dict[str, Callable[[], float]] = {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
        "**": lambda: a ** b, "neg": lambda: -a, "relu": lambda: max(a, 0.0),
        "tanh": lambda: math.tanh(a), "exp": lambda: math.exp(a), "log": lambda: math.log(a),
        "sigmoid": lambda: 1.0 / (1.0 + math.exp(-a)),
    }
    return table[op]()


def _safe(op: str, xs: Sequence[float]) -> bool:
    """Away from where the operation is undefined, has a kink, or overflows."""
    a = xs[0]
    b = xs[1] if len(xs) > 1 else 0.0
    if op == "/" and abs(b) < 0.25:
        return False
    if op == "log" and a < 0.25:
        return False
    if op == "**" and ((float(b) != int(b) and a < 0.25) or (b < 0 and abs(a) < 0.25)):
        return False
    if op == "relu" and abs(a) < 0.05:
        return False
    if op == "exp" and a > 6:
        return False
    if op == "sigmoid" and abs(a) > 30:
        return False
    try:
        v = _local_value(op, xs)
    except (ValueError, ZeroDivisionError, OverflowError):
        return False
    return isinstance(v, float) and math.isfinite(v) and abs(v) <= 1e4


def _add(p: Program, op: EngineOp, form: str, slots: Sequence[int], const: Any) -> bool:
    """Append ``op`` in ``form`` on ``slots`` (and ``const``) if it is safe there."""
    names = [p.names[s] for s in slots]
    if form == "v":
        args, xs, shown = [("v", slots[0])], [p.values[slots[0]]], names
    elif form == "vv":
        args, xs, shown = [("v", slots[0]), ("v", slots[1])], [p.values[s] for s in slots], names
    elif form == "vc":
        args, xs, shown = [("v", slots[0]), ("c", const)], [p.values[slots[0]], const], \
            [names[0], _fmt(const)]
    else:
        args, xs, shown = [("c", const), ("v", slots[0])], [const, p.values[slots[0]]], \
            [_fmt(const), names[0]]
    if not _safe(op.op, xs):
        return False
    p.nodes.append({"op": op.op, "args": [list(a) for a in args], "code": _code(op, form, shown),
                    "item": op.name, "form": form})
    p.values.append(_local_value(op.op, xs))
    p.names.append(_name(len(p.names)))
    return True


def _leaves(values: Sequence[float]) -> Program:
    p = Program(leaves=[float(v) for v in values])
    p.names = [_name(k) for k in range(len(values))]
    p.values = list(p.leaves)
    return p


_leaf = st.integers(-12, 12).filter(lambda k: k != 0).map(lambda k: k / 4)
_step = st.tuples(st.integers(0, 63), st.integers(0, 7), st.integers(0, 15), st.integers(0, 15),
                  st.integers(0, 15))


def _choices(ops: Sequence[EngineOp], pick: int, form_pick: int, need: str = ""
             ) -> list[tuple[EngineOp, str]]:
    """(op, form) pairs starting at ``pick``, each op in one of its forms."""
    out = []
    for k in range(len(ops)):
        op = ops[(pick + k) % len(ops)]
        forms = [f for f in op.forms if not need or (f == "vv") == (need == "vv")]
        if forms:
            out.append((op, forms[form_pick % len(forms)]))
    return out


def _const(op: EngineOp, pick: int) -> Any:
    return _POWERS[pick % len(_POWERS)] if op.op == "**" else _NICE[pick % len(_NICE)]


def realize_tree(ops: Sequence[EngineOp], leaves: Sequence[float],
                 steps: Sequence[tuple[int, ...]]) -> Program:
    """Every value used once: a tree, so no gradient ever fans out."""
    p = _leaves(leaves)
    pool = list(range(len(leaves)))
    for pick, form_pick, i, j, c in steps:
        for op, form in _choices(ops, pick, form_pick):
            if form == "vv" and len(pool) < 2:
                continue
            a = pool[i % len(pool)]
            rest = [s for s in pool if s != a]
            b = rest[j % len(rest)] if form == "vv" else a
            if _add(p, op, form, [a, b] if form == "vv" else [a], _const(op, c)):
                pool = [s for s in pool if s not in (a, b)] + [len(p.values) - 1]
                break
    joins = _choices(ops, 0, 0, need="vv")
    while len(pool) > 1 and joins:
        a, b = pool[0], pool[1]
        if not any(_add(p, op, "vv", [a, b], 0) for op, _ in joins):
            break
        pool = [*pool[2:], len(p.values) - 1]
    return p


def realize_fanout(ops: Sequence[EngineOp], leaves: Sequence[float],
                   steps: Sequence[tuple[int, ...]]) -> Program:
    """Values reused anywhere (``a * a``, shared sub-expressions), ending on a node that joins
    the last value with an earlier one, so some value is reached by paths of different lengths.
    """
    p = _leaves(leaves)
    for pick, form_pick, i, j, c in steps:
        n = len(p.values)
        for op, form in _choices(ops, pick, form_pick):
            slots = [n - 1 - i % n, n - 1 - j % n] if form == "vv" else [n - 1 - i % n]
            if _add(p, op, form, slots, _const(op, c)):
                break
    joins = _choices(ops, steps[0][0] if steps else 0, 0, need="vv")
    n = len(p.values)
    earlier = (steps[-1][2] if steps else 0) % max(1, n - 1)
    for op, _ in joins:
        if _add(p, op, "vv", [n - 1, earlier], 0):
            break
    return p


def realize_chain(ops: Sequence[EngineOp], leaf: float, scale: float,
                  picks: Sequence[int], length: int) -> Program:
    """A chain of ``length`` one-operand steps (constants on either side), times a leaf."""
    p = _leaves([leaf, scale])
    unary = [o for o in ops if o.forms != ("vv",)]
    shrink = [o for o in unary if o.op in ("tanh", "sigmoid")] + [
        o for o in unary if o.op in ("*", "/") and "vc" in o.forms]
    last = 0
    for k in range(length):
        pick = picks[k % len(picks)] + k
        x = p.values[last]
        choices = [(o, f) for o, f in _choices(unary, pick, pick // 7) if f != "vv"]
        if abs(x) > 4 and shrink:
            o = shrink[pick % len(shrink)]
            choices = [(o, "v" if o.forms == ("v",) else "vc")]
        for op, form in choices:
            const = 0.5 if op.op == "*" and abs(x) > 4 else 2.0 if op.op == "/" else \
                _const(op, pick)
            if _add(p, op, form, [last], const):
                last = len(p.values) - 1
                break
    mul = [o for o in ops if o.op == "*" and "vv" in o.forms]
    if mul:
        _add(p, mul[0], "vv", [last, 1], 0)
    return p


# --- the oracle ---------------------------------------------------------------------------


def _jax_op(op: str, xs: Sequence[Any]) -> Any:
    import jax
    import jax.numpy as jnp

    a = xs[0]
    b = xs[1] if len(xs) > 1 else None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    if op == "**":
        return a ** b
    if op == "neg":
        return -a
    if op == "relu":
        return jnp.where(a > 0, a, 0.0)
    if op == "sigmoid":
        return jax.nn.sigmoid(a)
    return getattr(jnp, op)(a)


@functools.cache
def _op_fn(op: str, n: int) -> Any:
    """The operation's value and its gradient with respect to each of its ``n`` arguments, over
    a batch of argument vectors, compiled once per operation and batch size (the exponent of
    ``**`` is a constant, never differentiated)."""
    import jax

    def one(*xs: Any) -> Any:
        if op == "**":
            v, g = jax.value_and_grad(lambda a: _jax_op(op, (a, xs[1])))(xs[0])
            return v, (g, g * 0.0)
        return jax.value_and_grad(lambda *a: _jax_op(op, a), argnums=tuple(range(n)))(*xs)

    return jax.jit(jax.vmap(one))


def _bucket(n: int) -> int:
    """Batch sizes padded to a few buckets (64, 256, ...): one compilation serves many."""
    return 1 << max(6, 2 * ((n - 1).bit_length() + 1 >> 1))


def _op_batch(op: str, rows: Sequence[Sequence[float]]) -> tuple[list[float], list[list[float]]]:
    """Values and local gradients of ``op`` at each row of arguments (padded to a bucket)."""
    import numpy as np

    n = len(rows[0])
    cols = np.ones((n, _bucket(len(rows))), dtype=np.float64)
    cols[:, : len(rows)] = np.asarray(rows, dtype=np.float64).T
    values, grads = _op_fn(op, n)(*cols)
    values = np.asarray(values)[: len(rows)]
    g = np.stack([np.asarray(x) for x in grads])[:, : len(rows)]
    return values.tolist(), g.T.tolist()


def program_oracle(program: Program, *, grads: bool = True
                   ) -> tuple[float, list[float], list[float]]:
    """The output, every leaf's gradient and every node's adjoint, in float64.

    Each operation's value and local gradients come from ``jax.value_and_grad`` at the inputs
    the node sees, batched per operation (compiled once, not per drawn program); reverse mode
    then multiplies and adds them node by node, as ``jax.grad`` of the program does.  A node's
    adjoint is the upstream gradient a correct engine hands its closure.
    """
    if grads in program.memo:
        return program.memo[grads]
    program.memo[grads] = answer = _program_oracle(program, grads)
    return answer


def _program_oracle(program: Program, grads: bool) -> tuple[float, list[float], list[float]]:
    slots: list[float] = list(program.leaves)
    rows: list[list[float]] = []
    for node in program.nodes:
        xs = [slots[i] if kind == "v" else float(i) for kind, i in node["args"]]
        rows.append(xs)
        slots.append(_local_value(node["op"], xs))
    by_op: dict[tuple[str, int], list[int]] = {}
    for j, node in enumerate(program.nodes):
        by_op.setdefault((node["op"], len(rows[j])), []).append(j)
    vals: list[float] = [0.0] * len(rows)
    locs: list[list[float]] = [[] for _ in rows]
    for (op, _), js in by_op.items():
        v, g = _op_batch(op, [rows[j] for j in js])
        for k, j in enumerate(js):
            vals[j], locs[j] = float(v[k]), [float(x) for x in g[k]]
    if not grads:
        return vals[-1], [], []
    adj = [0.0] * len(slots)
    adj[-1] = 1.0
    first = len(program.leaves)
    for j in range(len(program.nodes) - 1, -1, -1):
        for (kind, i), local in zip(program.nodes[j]["args"], locs[j]):
            if kind == "v":
                adj[i] += local * adj[first + j]  # fan-out adds
    return vals[-1], adj[:first], adj[first:]


def local_grads(op: str, xs: Sequence[float]) -> list[float]:
    """d op / d operand at ``xs`` (operands that are Python numbers included), by JAX."""
    return _op_batch(op, [list(xs)])[1][0]


# --- judging --------------------------------------------------------------------------------


def _close(got: Any, exp: float) -> bool:
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    return bool(abs(float(got) - exp) <= _TOL.rtol * abs(exp) + _TOL.atol + _TOL.floor) \
        if math.isfinite(float(got)) else False


def _mismatch(name: str, exp: float, got: Any) -> ElementMismatch:
    g = float(got) if isinstance(got, (int, float)) else math.nan
    err = abs(g - exp)
    return ElementMismatch(value=name, index=(), expected=exp, got=g, abs_error=err,
                           rel_error=err / abs(exp) if exp else math.inf)


def _n(x: Any) -> str:
    try:
        return f"{float(x) + 0.0:.6g}"
    except (TypeError, ValueError):
        return repr(x)


def _compare(where: str, names: Sequence[str], got: Sequence[Any], exp: Sequence[float],
             what: str, program: Program | None, kind: str = "wrong-values",
             trace: Sequence[GateStep] = (), blame: str = "") -> None:
    bad = [k for k in range(len(names)) if not _close(got[k], exp[k])]
    if not bad:
        return
    first = bad[0]
    comment = f"{names[first]}: expected {_n(exp[first])}, got {_n(got[first])}"
    code = f"\n{program.code(comment)}" if program is not None else ""
    wrong = ", ".join(names[k] for k in bad)
    raise CheckFailed(
        kind,
        f"{where}: {wrong} differ{'s' if len(bad) == 1 else ''} from {what}; {comment}."
        + (f" {blame}" if blame else "") + code,
        expected={names[k]: float(exp[k]) for k in range(len(names))},
        got={names[k]: (float(got[k]) if isinstance(got[k], (int, float)) else None)
             for k in range(len(names))},
        mismatches=[_mismatch(names[k], exp[k], got[k]) for k in bad],
        facts=Facts(where=where, value=wrong),
        trace=trace,
    )


def _detached(reply: dict[str, Any], program: Program) -> None:
    det = reply.get("detached") or {}
    if det:
        node = program.nodes[int(det["node"])]
        raise CheckFailed(
            "engine-detached",
            f"{node['code']} returned a {det['type']}, not a Value: the result is cut off "
            "from the graph, so no gradient can flow back through it."
            f"\n{program.code()}",
            facts=Facts(where=node["code"], value=str(det["type"])),
        )


# --- blame, node by node --------------------------------------------------------------------


@dataclass(frozen=True)
class Blame:
    """Why an engine's gradients are wrong: a node's local rule, or the engine's own fault."""

    kind: str  #: engine-local, engine-unseeded, engine-overwrite, engine-order, ...
    text: str
    trace: tuple[GateStep, ...]


def _label(node: dict[str, Any]) -> str:
    op, form = node["op"], node["form"]
    sym = {"neg": "-x", "relu": "relu", "tanh": "tanh", "exp": "exp", "log": "log",
           "sigmoid": "σ"}.get(op, op)
    if form == "vc":
        return f"{op}{_fmt(node['args'][1][1])}"
    if form == "cv":
        return f"{_fmt(node['args'][0][1])}{op}"
    return sym


def program_trace(program: Program, reply: dict[str, Any], preset: float = PRESET
                  ) -> tuple[list[GateStep], list[str]]:
    """Every node as the engine ran and replayed it, and each node's accumulation verdict.

    A node's replay preset its operands' gradients to :data:`PRESET`: "adds" when they kept
    it, "overwrites" when the node's contribution replaced it, "" when its rule is wrong.
    """
    first = len(program.leaves)
    values = reply.get("values") or []
    replay = reply.get("replay") or []
    steps: list[GateStep] = []
    fans = set(_fan_out(program))
    order = [int(k) for k in reply.get("order") or []]
    late = _out_of_order(program, order) if order else None
    early = late[0] if late and first + late[0] in order and late[1] in order else -1
    verdicts: list[str] = []
    for j, node in enumerate(program.nodes):
        ops = program.operands(j)
        xs = [values[i] if kind == "v" and i < len(values) else i for kind, i in node["args"]]
        xs_f = [float(x) if isinstance(x, (int, float)) else math.nan for x in xs]
        locals_all = local_grads(node["op"], xs_f)
        slot_pos = [k for k, (kind, _) in enumerate(node["args"]) if kind == "v"]
        local = [locals_all[k] for k in slot_pos]
        rep = replay[j] if j < len(replay) else None
        up = float(rep["upstream"]) if rep else math.nan
        # operands that are one object (a * a) collect the sum at their first occurrence
        merged_local: list[float] = []
        for k, s in enumerate(ops):
            merged_local.append(sum(lv for s2, lv in zip(ops, local) if s2 == s)
                                if ops.index(s) == k else 0.0)
        expected = [lv * up for lv in merged_local]
        got: list[float] = []
        verdict = ""
        if rep:
            after = rep["after"]
            contrib = [(float(a) - preset) if isinstance(a, (int, float)) else math.nan
                       for a in after]
            contrib = [c if ops.index(s) == k else 0.0 for k, (s, c) in
                       enumerate(zip(ops, contrib))]
            if all(_close(c, e) for c, e in zip(contrib, expected)):
                verdict, got = "adds", contrib
            else:
                single = [lv * up for lv in local]
                raw = [float(a) if isinstance(a, (int, float)) else math.nan for a in after]
                if all(_close(r, e) or any(_close(r, x) for x, s2 in zip(single, ops) if s2 == s)
                       for r, e, s in zip(raw, expected, ops)):
                    verdict, got = "overwrites", [r if ops.index(s) == k else 0.0
                                                  for k, (s, r) in enumerate(zip(ops, raw))]
                else:
                    got = contrib
        out_value = values[first + j] if first + j < len(values) else None
        exp_out = _local_value(node["op"], xs_f) if _safe(node["op"], xs_f) else math.nan
        steps.append(GateStep(
            gate=node["item"], label=_label(node), inputs=tuple(program.names[s] for s in ops),
            output=program.names[first + j], input_values=tuple(values[s] for s in ops),
            output_value=out_value, expected_output=exp_out,
            upstream=up if rep else None, grads=tuple(got), expected_grads=tuple(expected),
            local_grads=tuple(merged_local), forward_ok=_close(out_value, exp_out),
            # = instead of += loses a contribution where an operand fans out: that node is
            # wrong given what it received, though its numbers are right
            # (and so is the node whose closure ran before a node using it had run)
            backward_ok=bool(rep) and verdict != "" and j != early and not (
                verdict == "overwrites" and any(s in fans for s in ops)),
        ))
        verdicts.append(verdict)
    return steps, verdicts


def blame(program: Program, reply: dict[str, Any]) -> Blame:
    """The first node going backward whose local rule is wrong, else the engine's fault."""
    trace, verdicts = program_trace(program, reply)
    first = len(program.leaves)
    if reply.get("shadowed"):
        return Blame("engine-shadowed", "The output's backward is an instance attribute (a "
                     "node's closure stored as .backward), which hides the class's backward() "
                     "method: calling it runs one node's closure, not the whole graph.",
                     tuple(trace))
    if not reply.get("replay"):
        return Blame("wrong-values", "", tuple(trace))
    wrong = [j for j, v in enumerate(verdicts) if not v]
    if wrong:
        s = trace[max(wrong)]
        return Blame("engine-local", f"The first node going backward whose own backward is "
                     f"wrong is {s.output} = {program.nodes[max(wrong)]['code']}: given upstream "
                     f"{_n(s.upstream)} it passed back ({', '.join(map(_n, s.grads))}), expected "
                     f"({', '.join(map(_n, s.expected_grads))}).", tuple(trace))
    grads = reply.get("grads") or []
    out = grads[-1] if grads else None
    if not _close(out, 1.0):
        return Blame("engine-unseeded", f"Every node's local rule is right, but after "
                     f"backward() the output's own gradient is {_n(out)}, not 1: backward "
                     "never seeds it, so nothing flows.", tuple(trace))
    fans = _fan_out(program)
    over = [j for j, v in enumerate(verdicts) if v == "overwrites"]
    if over and fans:
        return Blame("engine-overwrite", f"Every node's local rule is right, but "
                     f"{len(over)} node(s) overwrite their operands' gradients instead of adding "
                     f"to them, and {', '.join(program.names[s] for s in fans)} fan(s) out, so "
                     "one contribution replaces the other.", tuple(trace))
    late = _out_of_order(program, reply.get("order") or [])
    if late:
        j, before = late
        return Blame("engine-order", f"Every node's local rule is right, but "
                     f"{program.names[first + j]}'s _backward ran before that of "
                     f"{program.names[before]}, which uses it: it passed on its gradient before "
                     "every contribution had arrived (a topological order must put a node "
                     "after everything that uses it).", tuple(trace))
    return Blame("wrong-values", "Every node's local rule is right given the upstream it "
                 "received, so the engine's backward() itself combines them wrongly.",
                 tuple(trace))


def _fan_out(program: Program) -> list[int]:
    uses: dict[int, int] = {}
    for j in range(len(program.nodes)):
        for s in program.operands(j):
            uses[s] = uses.get(s, 0) + 1
    return [s for s, n in uses.items() if n > 1]


def _out_of_order(program: Program, order: Sequence[int]) -> tuple[int, int] | None:
    """(node, a later node using it) whose closures ran in the wrong order, if any."""
    first = len(program.leaves)
    when = {int(k): t for t, k in enumerate(order)}
    for j in range(len(program.nodes)):
        slot = first + j
        for c in range(j + 1, len(program.nodes)):
            if slot in program.operands(c) and when.get(first + c, math.inf) > when.get(
                    slot, -1):
                return j, first + c
    return None


# --- which operations the graphs are built from ----------------------------------------------

@dataclass(frozen=True)
class Survey:
    """What the engine has: the operations it gets right alone, and which of its methods each
    operation's build ran (``Value -``: ``__sub__``, ``__neg__``, ``__mul__``, ``__add__``)."""

    sound: tuple[EngineOp, ...]
    has: tuple[str, ...]  #: the operations' items the class defines
    calls: dict[str, tuple[str, ...]]


_SURVEYS: weakref.WeakKeyDictionary[Any, Survey] = weakref.WeakKeyDictionary()
#: The item of each method an operation is defined by (``__neg__`` -> ``Value neg``).
_METHOD_ITEM = {op.attrs[0]: name for name, op in ENGINE_OPS.items()}


def survey(ex: Executor) -> Survey:
    """Each operation the engine has, checked once at a few points (cached per executor)."""
    try:
        cached = _SURVEYS.get(ex)
    except TypeError:
        cached = None
    if cached is not None:
        return cached
    names = ex.call("inventory")["names"]
    ops: list[EngineOp] = []
    calls: dict[str, tuple[str, ...]] = {}
    for name, op in ENGINE_OPS.items():
        if name not in names:
            continue
        ok = True
        for a in ((1.75, -0.75), (-1.25, 2.5)):
            seen: dict[str, tuple[str, ...]] = {}
            try:
                _judge_op(ex, op, _op_case(op, a[0], a[1], 2.5 if op.op != "**" else 2, 1.75),
                          seen=seen)
            except (CheckFailed, StudentError, Exception):
                ok = False
            calls.setdefault(name, seen.get(name, ()))
            if not ok:
                break
        if ok:
            ops.append(op)
    found = Survey(tuple(ops), tuple(n for n in ENGINE_OPS if n in names), calls)
    with contextlib.suppress(TypeError):
        _SURVEYS[ex] = found
    return found


def sound_ops(ex: Executor) -> list[EngineOp]:
    """The operations the engine has and gets right alone.

    A wrong operation fails its own item; graphs built without it judge the engine itself.
    """
    return list(survey(ex).sound)


def built_on(ex: Executor, item: str, calls: Sequence[str]) -> tuple[str, ...]:
    """The operations ``item``'s build ran that fail on their own, the root first.

    The root is one built on none of the others (``Value -`` built as a + (-b), with -b as
    b * -1 and a wrong ``*``: the root is ``Value *``, then ``Value neg``).
    """
    s = survey(ex)
    right = {op.name for op in s.sound}
    wrong = [i for i in dict.fromkeys(_METHOD_ITEM.get(m, "") for m in calls)
             if i and i != item and i in s.has and i not in right]

    def leans(d: str) -> bool:
        return any(_METHOD_ITEM.get(m) in wrong and _METHOD_ITEM.get(m) != d
                   for m in s.calls.get(d, ()))

    return tuple(sorted(wrong, key=leans))


def _explained(ex: Executor, op: EngineOp, failed: CheckFailed, calls: Sequence[str]
               ) -> CheckFailed:
    """``failed`` with the operations it is built on that fail alone, if any."""
    deps = built_on(ex, op.name, calls)
    r = failed.result
    if not deps:
        return failed
    root, via = deps[0], deps[1:]
    uses = ", ".join(m for m in calls if _METHOD_ITEM.get(m) in deps)
    first, _, rest = r.message.partition("\n")
    sentence = (f" {op.name} is built on {root}" + (f" (through {', '.join(via)})" if via else "")
                + f": building it ran {uses}, and {root} is wrong on its own (see its item): "
                f"fix {root} first.")
    return CheckFailed.of(replace(r, message=first + sentence + (f"\n{rest}" if rest else ""),
                                  facts=replace(r.facts, built_on=deps)))


# --- an operation's item -----------------------------------------------------------------------


def _op_case(op: EngineOp, a: float, b: float, c: Any, up: float, form: str = "") -> Case:
    form = form or op.forms[0]
    if op.op == "log" or (op.op == "**" and float(c) != int(c)):
        a = abs(a) + 0.25
    if op.op == "/" and form == "vv":
        b = b if abs(b) >= 0.25 else 0.5
    if op.op == "/" and form == "cv":
        a = a if abs(a) >= 0.25 else 0.5
    if op.op == "exp":
        a = max(min(a, 3.0), -3.0)
    return {"form": form, "a": a, "b": b, "c": c, "upstream": up}


def _op_program(op: EngineOp, case: Case) -> Program:
    form = case["form"]
    p = _leaves([case["a"], case["b"]] if form == "vv" else [case["a"]])
    slots = [0, 1] if form == "vv" else [0]
    if not _add(p, op, form, slots, case["c"]):
        raise ValueError("unsafe")
    return p


def _judge_op(ex: Executor, op: EngineOp, case: Case, check: str = "backward",
              seen: dict[str, tuple[str, ...]] | None = None) -> bool:
    """Judge ``op`` on ``case``; ``seen`` (the survey's) gets the methods its build ran, and
    without it a failure says which wrong operations it is built on."""
    try:
        p = _op_program(op, case)
    except ValueError:
        return False
    up = float(case["upstream"])
    sets = _nudged(p.leaves) if check == "numerical" else None
    reply = ex.call("engine_program", program=p.plain(), upstreams=[up], preset=0.0,
                    backward=check != "forward", force_upstream=True, leaf_sets=sets,
                    calls=True)
    calls = tuple(str(m) for m in ((reply.get("calls") or [[]])[0] or ()))
    if seen is not None:
        seen[op.name] = calls
        return _judge_reply(ex, op, p, reply, up, check)
    # The report shows the example as the lines a student runs, not the draw it came from.
    out = p.names[-1]
    if check == "forward":
        p.run = [f"{out}.data"]
    elif reply.get("replay"):  # judged as replayed: the closure alone, with this upstream
        p.run = [f"{out}.grad = {up!r}", f"{out}._backward()"]
    case.clear()
    case["code"] = p.code()
    try:
        return _judge_reply(ex, op, p, reply, up, check)
    except CheckFailed as failed:
        raise _explained(ex, op, failed, calls) from None


def _judge_reply(ex: Executor, op: EngineOp, p: Program, reply: dict[str, Any], up: float,
                 check: str) -> bool:
    _detached(reply, p)
    where = p.nodes[0]["code"]
    value, _, _ = program_oracle(p, grads=False)
    got_value = (reply.get("values") or [None])[-1]
    if check == "forward":
        try:
            _compare(where, [p.names[-1]], [got_value], [value], "the oracle's value", p)
        except CheckFailed as failed:
            raise _swapped(failed, p, got_value) from None
        return True
    names = [f"{p.names[s]}.grad" for s in range(len(p.leaves))]
    xs = [p.values[i] if kind == "v" else i for kind, i in p.nodes[0]["args"]]
    loc = local_grads(op.op, xs)
    expected = [loc[k] * up for k, (kind, _) in enumerate(p.nodes[0]["args"]) if kind == "v"]
    replay = reply.get("replay")
    if replay:
        got = list(replay[0]["after"])
        what = f"local gradient × upstream {_n(up)}"
        label = f"{where} with {p.names[-1]}.grad = {_n(up)}, then {p.names[-1]}._backward()"
    else:  # no closure to replay: the whole backward(), seeded with 1
        got = list((reply.get("grads") or [])[: len(p.leaves)])
        expected = [loc[k] for k, (kind, _) in enumerate(p.nodes[0]["args"]) if kind == "v"]
        what, label = "the local gradient", f"{where}; {p.names[-1]}.backward()"
    if check == "numerical":
        h = _steps(p.leaves)
        outs = reply.get("forwards") or []
        if len(outs) != 2 * len(p.leaves) or any(not isinstance(o, float) for o in outs):
            return False
        scale = up if replay else 1.0
        numeric = [(outs[2 * k] - outs[2 * k + 1]) / (2 * h[k]) * scale
                   for k in range(len(p.leaves))]
        _compare_num(label, names, got, numeric, p)
        return True
    trace, _ = program_trace(p, reply, preset=0.0) if replay else ([], [])
    _compare(label, names, got, expected, what, p, trace=trace)
    return True


def _swapped(failed: CheckFailed, p: Program, got: Any) -> CheckFailed:
    """A reflected operation (``2.0 - a``) that computed its operands swapped (``a - 2.0``):
    said in the facts' name relation (the code computed got_name where expected_name belongs).
    """
    node = p.nodes[0]
    if node["form"] != "cv" or node["op"] not in ("-", "/"):
        return failed
    (_, c), (_, i) = node["args"]
    swapped = _local_value(node["op"], [p.values[i], c]) if c else math.nan
    value = _local_value(node["op"], [c, p.values[i]])
    if not _close(got, swapped) or _close(swapped, value):
        return failed
    r = failed.result
    return CheckFailed.of(replace(r, facts=replace(
        r.facts, got_name=f"{p.names[i]} {node['op']} {_fmt(c)}", expected_name=node["code"])))


def _compare_num(where: str, names: Sequence[str], got: Sequence[Any],
                 numeric: Sequence[float], program: Program) -> None:
    """Centred differences carry an error of about STEP² and rounding over STEP."""
    bad = [k for k in range(len(names)) if not isinstance(got[k], (int, float))
           or abs(float(got[k]) - numeric[k]) > 1e-4 * max(1.0, abs(numeric[k]))]
    if not bad:
        return
    k = bad[0]
    comment = f"{names[k]}: centred differences give {_n(numeric[k])}, got {_n(got[k])}"
    raise CheckFailed(
        "numerical",
        f"{where}: {', '.join(names[b] for b in bad)} disagree with centred differences of "
        f"your own forward; {comment}.\n{program.code(comment)}",
        expected={n: float(v) for n, v in zip(names, numeric)},
        got={n: (float(g) if isinstance(g, (int, float)) else None) for n, g in zip(names, got)},
        mismatches=[_mismatch(names[b], numeric[b], got[b]) for b in bad],
        facts=Facts(where=where, value=", ".join(names[b] for b in bad)),
    )


def _op_cases(op: EngineOp) -> st.SearchStrategy[Case]:
    ups = st.integers(-24, 24).filter(lambda k: abs(k) not in (0, 8)).map(lambda k: k / 8)
    consts = st.sampled_from(_POWERS if op.op == "**" else _NICE)
    return st.builds(lambda f, a, b, c, u: _op_case(op, a, b, c, u, f),
                     st.sampled_from(op.forms), _leaf, _leaf, consts, ups)


def op_checks(name: str) -> list[Check]:
    op = ENGINE_OPS[name]
    cases = _op_cases(op)

    def run(check: str) -> Callable[[Executor, Case], bool]:
        return lambda ex, case: _judge_op(ex, op, case, check)

    return [
        Check("forward", cases, run("forward"), f"{op.code.format(a='a', b='b')} computes the "
              "right value and returns a Value"),
        Check("backward", cases, run("backward"), "its _backward passes back local gradient × "
              "an upstream gradient that is not 1"),
        Check("numerical", cases, run("numerical"), "its gradients match centred differences "
              "of your own forward"),
    ]


# --- the graph items --------------------------------------------------------------------------

_GRAPHS: dict[str, st.SearchStrategy[Case]] = {
    "Value graph": st.fixed_dictionaries({
        "leaves": st.lists(_leaf, min_size=1, max_size=4),
        "steps": st.lists(_step, min_size=1, max_size=8)}),
    "Value fan-out": st.fixed_dictionaries({
        "leaves": st.lists(_leaf, min_size=1, max_size=3),
        "steps": st.lists(_step, min_size=2, max_size=9)}),
    # A few chains, each cycling through every operation the engine has: the item's point is
    # depth, not variety, so Hypothesis runs each shape once and stops.
    "Value deep chain": st.fixed_dictionaries({"chain": st.integers(0, 3)}),
}
CHAIN_LENGTH = 200


@functools.lru_cache(maxsize=32)
def _chain(ops: tuple[EngineOp, ...], k: int) -> Program:
    """Chain shape ``k`` (the same for the item's three checks, realized once)."""
    picks = [(k * 13 + 29 * i) % 64 for i in range(3)]
    return realize_chain(ops, _NICE[k % len(_NICE)], _NICE[(k + 3) % len(_NICE)], picks,
                         CHAIN_LENGTH)


def _realize(name: str, ops: Sequence[EngineOp], case: Case) -> Program:
    if name == "Value graph":
        return realize_tree(ops, case["leaves"], case["steps"])
    if name == "Value fan-out":
        return realize_fanout(ops, case["leaves"], case["steps"])
    return _chain(tuple(ops), int(case["chain"]))


def graph_checks(name: str) -> list[Check]:
    def judge(check: str) -> Callable[[Executor, Case], bool]:
        def run(ex: Executor, case: Case) -> bool:
            ops = sound_ops(ex)
            if not ops:
                return False
            p = _realize(name, ops, case)
            if not p.nodes:
                return False
            # The report shows the program, not the draw it came from.
            case.clear()
            case["code"] = p.code()
            if check == "numerical":
                return _graph_numerical(ex, p)
            value, leaf_grads, adjoints = program_oracle(p, grads=check == "backward")
            reply = ex.call("engine_program", program=p.plain(),
                            upstreams=[a if a else 1.0 for a in adjoints] or None,
                            preset=PRESET, backward=check == "backward")
            _detached(reply, p)
            if check == "forward":
                got = (reply.get("values") or [None])[-1]
                _compare(name, [p.names[-1]], [got], [value], "the oracle's value", p)
                return True
            names = [f"{p.names[k]}.grad" for k in range(len(p.leaves))]
            got_grads = list((reply.get("grads") or [None] * len(names))[: len(names)])
            if all(_close(g, e) for g, e in zip(got_grads, leaf_grads)):
                return True
            found = blame(p, reply)
            _compare(name, names, got_grads, leaf_grads, "jax.grad of the same program", p,
                     kind=found.kind, trace=found.trace, blame=found.text)
            return True

        return run

    cases = _GRAPHS[name]
    return [
        Check("forward", cases, judge("forward"), "the output's value matches the oracle"),
        Check("backward", cases, judge("backward"), "every leaf's gradient after backward() "
              "matches jax.grad of the same program"),
        Check("numerical", cases, judge("numerical"), "every leaf's gradient matches centred "
              "differences of your own forward"),
    ]


def _steps(leaves: Sequence[float]) -> list[float]:
    return [STEP * max(1.0, abs(x)) for x in leaves]


def _nudged(leaves: Sequence[float]) -> list[list[float]]:
    """The leaf sets of centred differences: each leaf moved up, then down, by its step."""
    sets = []
    for k, h in enumerate(_steps(leaves)):
        for sgn in (1, -1):
            moved = list(leaves)
            moved[k] += sgn * h
            sets.append(moved)
    return sets


def _graph_numerical(ex: Executor, p: Program) -> bool:
    reply = ex.call("engine_program", program=p.plain(), upstreams=None, preset=PRESET,
                    backward=True, leaf_sets=_nudged(p.leaves))
    _detached(reply, p)
    names = [f"{p.names[k]}.grad" for k in range(len(p.leaves))]
    got = list((reply.get("grads") or [None] * len(names))[: len(names)])
    h = _steps(p.leaves)
    outs = reply.get("forwards") or []
    if len(outs) != 2 * len(p.leaves) or any(not isinstance(o, float) for o in outs):
        return False
    numeric = [(outs[2 * k] - outs[2 * k + 1]) / (2 * h[k]) for k in range(len(p.leaves))]
    # a step that crosses a kink (relu near 0) is no evidence: skip such examples
    if any(o is None or not math.isfinite(o) for o in outs):
        return False
    _compare_num(f"{p.names[-1]}.backward()", names, got, numeric, p)
    return True


def engine_checks(name: str) -> list[Check]:
    """The checks of an engine item: an operation's, or a graph item's."""
    return op_checks(name) if name in ENGINE_OPS else graph_checks(name)
