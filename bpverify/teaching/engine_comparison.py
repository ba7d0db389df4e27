"""An expression's circuit built with a student's engine, beside the lecture's hand walk.

``bpverify explain EXPR --engine FILE`` builds the circuit of :mod:`bpverify.teaching.explain`
with the submission's ``Value`` (through the isolation boundary), one engine operation per gate,
replays each node with the hand walk's upstream gradient and shows both gate by gate, with the
grader's blame where they differ.  Only ``--engine`` imports this module (and JAX, through the
engines' checks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bpverify.contract.engines import ENGINE_OPS
from bpverify.feedback.words import num
from bpverify.grading.checks.engines import PRESET, Program, blame, program_trace
from bpverify.grading.checks.engines.judging import near
from bpverify.model import GateStep
from bpverify.submission import Executor, StudentError
from bpverify.teaching.explain import ExplainError, ExprCircuit, build, explain
from bpverify.teaching.lecture import Walk

__all__ = ["EngineComparison", "EngineRow", "compare_engine", "engine_program",
           "render_comparison"]


def engine_program(circuit: ExprCircuit, walk_: Walk, has: Sequence[str]) -> Program:
    """``circuit`` as a program for an engine with the operations ``has`` (``"Value *"``, ...),
    one engine operation per gate, on the wires the walk names: ``a = x + y``, ``e = d * -1``.
    """
    p = Program(leaves=[walk_.values[v] for v in circuit.variables],
                names=list(circuit.variables))
    p.values = list(p.leaves)
    slot = {v: k for k, v in enumerate(circuit.variables)}

    def need(*items: str) -> str:
        for item in items:
            if item in has:
                return item
        ops = " or ".join(ENGINE_OPS[i].code.format(a="x", b="y") for i in items)
        raise ExplainError(f"the engine has no {ops}, which the {node.label} gate needs; "
                           "explain an expression made of the operations it has")

    for node in circuit.nodes:
        ins = [slot[w] for w in node.inputs if w in slot]
        args: list[tuple[str, float]]
        if node.gate == "AddGate":
            item, args = need("Value +"), [("v", ins[0]), ("v", ins[1])]
        elif node.gate == "MultiplyGate":
            item, args = need("Value *"), [("v", ins[0]), ("v", ins[1])]
        elif node.gate in ("ScaleGate", "AddConstGate"):
            item = need("Value *" if node.gate == "ScaleGate" else "Value +")
            args = [("v", ins[0]), ("c", float(node.const or 0.0))]
        elif node.gate == "ReciprocalGate":
            item = need("Value **", "Value r/")
            args = [("v", ins[0]), ("c", -1)] if item == "Value **" else [("c", 1.0),
                                                                          ("v", ins[0])]
        elif node.gate in ("ExpGate", "SigmoidGate"):
            item, args = need("Value exp" if node.gate == "ExpGate" else "Value sigmoid"), \
                [("v", ins[0])]
        elif node.gate == "MaxGate" and len(ins) == 1 and all(
                circuit.constants.get(w) == 0.0 for w in node.inputs if w not in slot):
            item, args = need("Value relu"), [("v", ins[0])]
        else:
            raise ExplainError(f"the {node.label} gate has no engine operation; max works with "
                               "an engine as max(x, 0), its relu")
        op = ENGINE_OPS[item]
        form = "v" if op.forms == ("v",) else "".join(kind for kind, _ in args)
        shown = [p.names[int(i)] if kind == "v" else repr(i) for kind, i in args]
        code = op.code.format(a=shown[0], b=shown[1] if len(shown) > 1 else "")
        p.nodes.append({"op": op.op, "args": [list(a) for a in args], "code": code,
                        "item": item, "form": form})
        p.names.append(node.output)
        p.values.append(walk_.values[node.output])
        slot[node.output] = len(p.names) - 1
    return p


@dataclass(frozen=True)
class EngineRow:
    """One gate, by hand and by the engine."""

    code: str  #: the engine's line, e.g. "a = x + y"
    hand: GateStep  #: the lecture walk's step
    engine: GateStep  #: the engine's node, replayed with the hand's upstream gradient
    value: float | None  #: the engine's value of the gate's output
    grad: float | None  #: the engine's gradient of the gate's output after backward()

    @property
    def value_ok(self) -> bool:
        return _same(self.value, self.hand.output_value)

    @property
    def grad_ok(self) -> bool:
        return _same(self.grad, self.hand.upstream)

    @property
    def backward_ok(self) -> bool:
        """Given the hand's upstream gradient, the engine passes back what the hand does."""
        return self.engine.backward_ok and all(
            _same(g, e) for g, e in zip(self.engine.grads, self.hand.grads))

    @property
    def ok(self) -> bool:
        return self.value_ok and self.grad_ok and self.backward_ok


@dataclass(frozen=True)
class EngineComparison:
    """The circuit of an expression built with a student's engine, beside the hand walk."""

    source: str  #: the engine's file, as named on the command line
    code: str  #: the program, as lines a student can paste
    rows: tuple[EngineRow, ...] = ()  #: in forward order
    leaves: tuple[tuple[str, float, float | None], ...] = ()  #: (variable, by hand, engine)
    verdict: str = ""  #: why they differ (the grader's blame), or "" when they agree
    error: str = ""  #: the engine raised, or cut the graph: nothing to compare past it

    @property
    def agrees(self) -> bool:
        return not self.error and all(r.ok for r in self.rows) and all(
            _same(g, h) for _, h, g in self.leaves)


def _same(got: Any, exp: Any) -> bool:
    """By the grader's own rule for engines, so that a ✓ here is a pass there."""
    return isinstance(exp, (int, float)) and near(got, float(exp))


def compare_engine(expr: str, values: Mapping[str, float], executor: Executor,
                   source: str = "the engine") -> tuple[Walk, EngineComparison]:
    """Walk ``expr`` by hand, and build the same circuit with the engine ``executor`` runs
    (a submission's ``Value``, through the isolation boundary), gate by gate."""
    w = explain(expr, values)
    circuit = build(expr)
    inventory = executor.call("inventory")
    if "Value" not in inventory["names"]:
        errors = "; ".join(inventory.get("load_errors") or []) or "no class named Value"
        raise ExplainError(f"{source} has no autograd engine to compare with ({errors}); "
                           "expected a micrograd-style Value class")
    p = engine_program(circuit, w, list(inventory["names"]))
    hand_up = {s.output: float(s.upstream) for s in w.steps}
    try:
        reply = executor.call("engine_program", program=p.plain(),
                              upstreams=[hand_up[n.output] for n in circuit.nodes],
                              preset=PRESET, backward=True, force_upstream=True)
    except StudentError as exc:
        return w, EngineComparison(source, p.code(), error=f"{exc.where} raised "
                                   f"{exc.exc_type}: {exc.message}")
    det = reply.get("detached") or {}
    if det:
        node = p.nodes[int(det["node"])]
        return w, EngineComparison(
            source, p.code(), error=f"{p.names[len(p.leaves) + int(det['node'])]} = "
            f"{node['code']} returned a {det['type']}, not a Value: the graph is cut there")
    trace, _ = program_trace(p, reply)
    first = len(p.leaves)
    values_, grads = reply.get("values") or [], reply.get("grads") or []
    rows = tuple(
        EngineRow(f"{p.names[first + j]} = {p.nodes[j]['code']}", hand, trace[j],
                  values_[first + j] if first + j < len(values_) else None,
                  grads[first + j] if first + j < len(grads) else None)
        for j, hand in enumerate(w.steps))
    leaves = tuple((v, w.grads.get(v, 0.0), grads[k] if k < len(grads) else None)
                   for k, v in enumerate(circuit.variables))
    comparison = EngineComparison(source, p.code(), rows, leaves)
    if not comparison.agrees:
        comparison = EngineComparison(source, p.code(), rows, leaves, blame(p, reply).text)
    return w, comparison


def _cell(text: str, ok: bool) -> Text:
    """An engine's number as is, or marked where it differs from the hand's."""
    return Text(text) if ok else Text(f"{text} ✗", style="bold red")


def _mark(ok: bool) -> Text:
    return Text("✓", style="green") if ok else Text("✗", style="bold red")


def render_comparison(w: Walk, c: EngineComparison, console: Console) -> None:
    """The hand computation beside the engine's, gate by gate (the walk's backward order)."""
    out = w.output
    console.print(Text(f"The same circuit with the engine of {c.source} (by hand, then the "
                       "engine's, ✗ where they differ; what a node passes back is given the "
                       "hand's upstream gradient):", style="bold"))
    console.print(f"  {c.code}" if "\n" not in c.code else "  " + c.code.replace("\n", "\n  "))
    if c.error:
        console.print(Text(f"Nothing to compare: {c.error}.", style="bold red"))
        return
    table = Table(show_lines=False, pad_edge=False)
    for col, style in (("#", "dim"), ("engine node", "bold"), ("value", "green"),
                       ("engine", "green"), (f"d{out}/d(node)", "red"), ("engine", "red"),
                       ("passes back", "red"), ("engine", "red")):
        table.add_column(col, style=style, overflow="fold", no_wrap=col == "#")
    order = list(reversed(c.rows))
    for k, r in enumerate(order, start=1):
        back_hand = "\n".join(f"d{n} {num(g)}" for n, g in zip(r.hand.inputs, r.hand.grads)
                               if n not in w.constants)
        back_engine = "\n".join(f"d{n} {num(g)}" for n, g in zip(r.engine.inputs,
                                                                   r.engine.grads))
        table.add_row(str(k), r.code, num(r.hand.output_value), _cell(num(r.value), r.value_ok),
                      num(r.hand.upstream), _cell(num(r.grad), r.grad_ok), back_hand,
                      _cell(back_engine or "?", r.backward_ok))
    console.print(table)
    for name, hand, got in c.leaves:
        line = Text(f"  d{out}/d{name}: by hand {num(hand)}, {name}.grad {num(got)} ")
        line.append_text(_mark(_same(got, hand)))
        console.print(line)
    if c.agrees:
        console.print(Text("Your engine agrees with the hand computation at every gate.",
                           style="bold green"))
        return
    wrong = [k for k, r in enumerate(order, start=1) if not r.ok]
    if wrong:
        r = order[wrong[0] - 1]
        what = [part for part, ok in (("its value", r.value_ok), ("its gradient", r.grad_ok),
                                      ("what it passes back", r.backward_ok)) if not ok]
        console.print(Text(f"First difference going backward: #{wrong[0]} {r.code} "
                           f"({' and '.join(what)}); the gates after it in this order get "
                           "what it passed back.", style="bold red"))
    if c.verdict:
        console.print(Text(c.verdict, style="red"))

