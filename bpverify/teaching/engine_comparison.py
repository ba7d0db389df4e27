"""An expression's circuit built with a student's engine, beside the lecture's hand walk.

``bpverify explain EXPR --engine FILE`` builds the circuit of :mod:`bpverify.teaching.explain`
with the submission's ``Value`` (through the isolation boundary), one engine operation per gate,
replays each node with the hand walk's upstream gradient and shows both gate by gate, with the
grader's blame where they differ.  Only ``--engine`` imports this module (and JAX, through the
engines family's checks, when the registry loads its ``explain`` role).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bpverify import registry
from bpverify.feedback.words import num
from bpverify.submission import Executor
from bpverify.teaching.comparison import ComparisonError, EngineComparison, EngineRow, HandCircuit
from bpverify.teaching.explain import ExplainError, build, explain
from bpverify.teaching.lecture import Walk

__all__ = ["EngineComparison", "EngineRow", "compare_engine", "render_comparison"]

#: The category of the items whose family builds circuits with a submission's engine.
ENGINE_CATEGORY = "engine"


def compare_engine(expr: str, values: Mapping[str, float], executor: Executor,
                   source: str = "the engine") -> tuple[Walk, EngineComparison]:
    """Walk ``expr`` by hand, and build the same circuit with the engine ``executor`` runs
    (a submission's ``Value``, through the isolation boundary), gate by gate: the engines
    family does the building and judging (its ``explain`` role, reached through the registry),
    this module the hand walk and the drawing."""
    w = explain(expr, values)
    circuit = build(expr)
    family = registry.explainer(ENGINE_CATEGORY)
    if family is None:
        raise ExplainError("no family of items builds circuits with an engine; --engine needs "
                           "the engines family (bpverify/families/engines/)")
    hand = HandCircuit(
        variables=tuple(circuit.variables), nodes=tuple(circuit.nodes),
        constants=dict(circuit.constants), values=dict(w.values),
        upstreams={s.output: float(s.upstream) for s in w.steps}, steps=tuple(w.steps),
        grads=dict(w.grads))
    try:
        comparison: EngineComparison = family.compare(hand, executor, source)
    except ComparisonError as exc:
        raise ExplainError(str(exc)) from None
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
    for name, hand, got, ok in c.leaves:
        line = Text(f"  d{out}/d{name}: by hand {num(hand)}, {name}.grad {num(got)} ")
        line.append_text(_mark(ok))
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

