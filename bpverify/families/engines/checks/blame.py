"""Blame, node by node: which node's local rule is wrong, or else the engine's own fault.

The engine replays every node's closure with a known upstream gradient and its operands'
gradients preset to :data:`PRESET`; comparing what each closure left with the oracle's local
gradients tells a wrong local rule from an engine that overwrites, runs out of order or never
seeds the output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bpverify.families.engines.checks.judging import near, num
from bpverify.families.engines.checks.oracle import local_grads
from bpverify.families.engines.checks.programs import Program, fmt_const, local_value, safe_at
from bpverify.model import GateStep

__all__ = ["PRESET", "Blame", "blame", "hidden_overwrite", "program_trace"]

#: What the operands' gradients hold before a node is replayed: adding keeps it, overwriting
#: loses it.
PRESET = 0.375


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
        return f"{op}{fmt_const(node['args'][1][1])}"
    if form == "cv":
        return f"{fmt_const(node['args'][0][1])}{op}"
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
            if all(near(c, e) for c, e in zip(contrib, expected)):
                verdict, got = "adds", contrib
            else:
                single = [lv * up for lv in local]
                raw = [float(a) if isinstance(a, (int, float)) else math.nan for a in after]
                if all(near(r, e) or any(near(r, x) for x, s2 in zip(single, ops) if s2 == s)
                       for r, e, s in zip(raw, expected, ops)):
                    verdict, got = "overwrites", [r if ops.index(s) == k else 0.0
                                                  for k, (s, r) in enumerate(zip(ops, raw))]
                else:
                    got = contrib
        out_value = values[first + j] if first + j < len(values) else None
        exp_out = local_value(node["op"], xs_f) if safe_at(node["op"], xs_f) else math.nan
        steps.append(GateStep(
            gate=node["item"], label=_label(node), inputs=tuple(program.names[s] for s in ops),
            output=program.names[first + j], input_values=tuple(values[s] for s in ops),
            output_value=out_value, expected_output=exp_out,
            upstream=up if rep else None, grads=tuple(got), expected_grads=tuple(expected),
            local_grads=tuple(merged_local), forward_ok=near(out_value, exp_out),
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
                     f"{num(s.upstream)} it passed back ({', '.join(map(num, s.grads))}), expected "
                     f"({', '.join(map(num, s.expected_grads))}).", tuple(trace))
    grads = reply.get("grads") or []
    out = grads[-1] if grads else None
    if not near(out, 1.0):
        return Blame("engine-unseeded", f"Every node's local rule is right, but after "
                     f"backward() the output's own gradient is {num(out)}, not 1: backward "
                     "never seeds it, so nothing flows.", tuple(trace))
    fans = _fan_out(program)
    over = [j for j, v in enumerate(verdicts) if v == "overwrites"]
    if over and fans:
        ops = ", ".join(dict.fromkeys(str(program.nodes[j]["item"]) for j in over))
        return Blame("engine-overwrite", f"Every node's local rule is right, but "
                     f"{len(over)} node(s) ({ops}) overwrite their operands' gradients instead "
                     f"of adding to them, and {', '.join(program.names[s] for s in fans)} fan(s) "
                     "out, so one contribution replaces the other.", tuple(trace))
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


def hidden_overwrite(program: Program, reply: dict[str, Any]) -> Blame | None:
    """A node that overwrites (=) the gradient of an operand that fans out, in a program whose
    gradients came out right anyway: its closure happened to run before the other uses' shares
    arrived (the order of a set of children), which another order, or another graph, does not
    repeat.  The replay, with the operand already holding another use's share, shows it."""
    if not reply.get("replay"):
        return None
    trace, verdicts = program_trace(program, reply)
    fans = set(_fan_out(program))
    lost = [j for j, v in enumerate(verdicts) if v == "overwrites"
            and any(s in fans for s in program.operands(j))]
    if not lost:
        return None
    j = lost[0]
    node, first = program.nodes[j], len(program.leaves)
    shared = next(program.names[s] for s in program.operands(j) if s in fans)
    return Blame("engine-overwrite", f"Every gradient came out right on this run, but "
                 f"{program.names[first + j]} = {node['code']} ({node['item']}) overwrites its "
                 f"operand's gradient (=) instead of adding to it, and {shared} fans out: "
                 f"replayed with {shared}.grad already holding another use's share "
                 f"({num(PRESET)}), its _backward replaced it. Its closure ran before the other "
                 "uses' shares arrived here; in another order (a set's order changes from run "
                 "to run) or another graph, one contribution replaces the other.", tuple(trace))


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
