"""The lecture's circuit of an expression built with a student's engine (``bpverify explain
EXPR --engine FILE``): which engine operation stands for which gate, the program, its replay
with the hand walk's upstream gradients, and the grader's verdicts and blame.

The hand walk and the drawing are the teaching side's (:mod:`bpverify.teaching.engine_comparison`,
which reaches this module through the registry's ``explain`` role).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bpverify.contract import Node
from bpverify.families.engines.checks import PRESET, Program, blame, program_trace
from bpverify.families.engines.checks.judging import near
from bpverify.families.engines.contract import ENGINE_OPS
from bpverify.submission import Executor, StudentError
from bpverify.teaching.comparison import (
    ComparisonError,
    EngineComparison,
    EngineRow,
    HandCircuit,
)

__all__ = ["compare", "engine_program"]


def engine_program(hand: HandCircuit, has: Sequence[str]) -> Program:
    """The circuit as a program for an engine with the operations ``has`` (``"Value *"``, ...),
    one engine operation per gate, on the wires the walk names: ``a = x + y``, ``e = d * -1``.
    """
    p = Program(leaves=[hand.values[v] for v in hand.variables], names=list(hand.variables))
    p.values = list(p.leaves)
    slot = {v: k for k, v in enumerate(hand.variables)}

    def need(node: Node, *items: str) -> str:
        for item in items:
            if item in has:
                return item
        ops = " or ".join(ENGINE_OPS[i].code.format(a="x", b="y") for i in items)
        raise ComparisonError(f"the engine has no {ops}, which the {node.label} gate needs; "
                              "explain an expression made of the operations it has")

    for node in hand.nodes:
        ins = [slot[w] for w in node.inputs if w in slot]
        args: list[tuple[str, float]]
        if node.gate == "AddGate":
            item, args = need(node, "Value +"), [("v", ins[0]), ("v", ins[1])]
        elif node.gate == "MultiplyGate":
            item, args = need(node, "Value *"), [("v", ins[0]), ("v", ins[1])]
        elif node.gate in ("ScaleGate", "AddConstGate"):
            item = need(node, "Value *" if node.gate == "ScaleGate" else "Value +")
            args = [("v", ins[0]), ("c", float(node.const or 0.0))]
        elif node.gate == "ReciprocalGate":
            item = need(node, "Value **", "Value r/")
            args = [("v", ins[0]), ("c", -1)] if item == "Value **" else [("c", 1.0),
                                                                          ("v", ins[0])]
        elif node.gate in ("ExpGate", "SigmoidGate"):
            item = need(node, "Value exp" if node.gate == "ExpGate" else "Value sigmoid")
            args = [("v", ins[0])]
        elif node.gate == "MaxGate" and len(ins) == 1 and all(
                hand.constants.get(w) == 0.0 for w in node.inputs if w not in slot):
            item, args = need(node, "Value relu"), [("v", ins[0])]
        else:
            raise ComparisonError(f"the {node.label} gate has no engine operation; max works "
                                  "with an engine as max(x, 0), its relu")
        op = ENGINE_OPS[item]
        form = "v" if op.forms == ("v",) else "".join(kind for kind, _ in args)
        shown = [p.names[int(i)] if kind == "v" else repr(i) for kind, i in args]
        code = op.code.format(a=shown[0], b=shown[1] if len(shown) > 1 else "")
        p.nodes.append({"op": op.op, "args": [list(a) for a in args], "code": code,
                        "item": item, "form": form})
        p.names.append(node.output)
        p.values.append(hand.values[node.output])
        slot[node.output] = len(p.names) - 1
    return p


def _same(got: Any, exp: Any) -> bool:
    """By the grader's own rule for engines, so that a ✓ here is a pass there."""
    return isinstance(exp, (int, float)) and near(got, float(exp))


def compare(hand: HandCircuit, executor: Executor, source: str) -> EngineComparison:
    """Build ``hand``'s circuit with the engine ``executor`` runs (a submission's ``Value``,
    through the isolation boundary) and judge it gate by gate against the hand's numbers."""
    inventory = executor.call("inventory")
    if "Value" not in inventory["names"]:
        errors = "; ".join(inventory.get("load_errors") or []) or "no class named Value"
        raise ComparisonError(f"{source} has no autograd engine to compare with ({errors}); "
                              "expected a micrograd-style Value class")
    p = engine_program(hand, list(inventory["names"]))
    try:
        reply = executor.call("engine_program", program=p.plain(),
                              upstreams=[hand.upstreams[n.output] for n in hand.nodes],
                              preset=PRESET, backward=True, force_upstream=True)
    except StudentError as exc:
        return EngineComparison(source, p.code(), error=f"{exc.where} raised "
                                f"{exc.exc_type}: {exc.message}")
    det = reply.get("detached") or {}
    if det:
        node = p.nodes[int(det["node"])]
        return EngineComparison(
            source, p.code(), error=f"{p.names[len(p.leaves) + int(det['node'])]} = "
            f"{node['code']} returned a {det['type']}, not a Value: the graph is cut there")
    trace, _ = program_trace(p, reply)
    first = len(p.leaves)
    values, grads = reply.get("values") or [], reply.get("grads") or []
    rows = []
    for j, step in enumerate(hand.steps):
        value = values[first + j] if first + j < len(values) else None
        grad = grads[first + j] if first + j < len(grads) else None
        engine = trace[j]
        rows.append(EngineRow(
            f"{p.names[first + j]} = {p.nodes[j]['code']}", step, engine, value, grad,
            value_ok=_same(value, step.output_value), grad_ok=_same(grad, step.upstream),
            backward_ok=engine.backward_ok and all(
                _same(g, e) for g, e in zip(engine.grads, step.grads))))
    leaves = []
    for k, v in enumerate(hand.variables):
        by_hand, got = hand.grads.get(v, 0.0), grads[k] if k < len(grads) else None
        leaves.append((v, by_hand, got, _same(got, by_hand)))
    comparison = EngineComparison(source, p.code(), tuple(rows), tuple(leaves))
    if not comparison.agrees:
        comparison = EngineComparison(source, p.code(), tuple(rows), tuple(leaves),
                                      blame(p, reply).text)
    return comparison
