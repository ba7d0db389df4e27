"""The lecture, runnable: CS231n Winter 2016 lecture 4's two worked examples, gate by gate.

Every number is computed, never typed in: the circuits are the contract's (``CIRCUITS``) and
each gate runs through ``oracles.gate``, the float64 JAX definition that grades submissions.
That engine is chosen over ``reference/`` because it ships with the installed package (the
reference implementation only exists in a source checkout) and because the lecture's numbers are
then, by construction, the numbers the grader expects from a student's gates.

>>> from bpverify.teaching.lecture import lecture_walks
>>> first, neuron = lecture_walks()                     # doctest: +SKIP
>>> first.grads["z"], neuron.grads["x0"]                # doctest: +SKIP
(3.0, 0.393...)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bpverify.contract import CIRCUITS, Node
from bpverify.feedback.words import num
from bpverify.model import GateStep
from bpverify.operations import OPERATIONS, of_gate

__all__ = [
    "Shortcut",
    "Walk",
    "gate_sentence",
    "lecture_walks",
    "render_lecture",
    "render_walk",
    "shortcut_sentences",
    "sigmoid_shortcut",
    "walk",
]

#: What the lecture calls each gate's behaviour in the backward pass.
_NICKNAMES = {
    "AddGate": "an add gate distributes the gradient equally",
    "MultiplyGate": "a multiply gate switches",
    "MaxGate": "a max gate routes the gradient",
}


@dataclass(frozen=True)
class Walk:
    """One forward and backward pass through a circuit, every wire's value and gradient."""

    title: str
    inputs: tuple[str, ...]  #: the circuit's variables, in order
    steps: tuple[GateStep, ...]  #: in forward order; each with its local and final gradients
    values: dict[str, float]  #: every wire's forward value
    grads: dict[str, float]  #: df/dwire for every wire (fan-out already added up)
    output: str
    constants: dict[str, float] = field(default_factory=dict)  #: constant wires, e.g. max(x, 0)
    nodes: tuple[Node, ...] = ()


def walk(
    nodes: Sequence[Node],
    values: Mapping[str, float],
    *,
    title: str = "",
    inputs: Sequence[str] | None = None,
    constants: Mapping[str, float] | None = None,
    dout: float = 1.0,
) -> Walk:
    """Run ``nodes`` forward from ``values``, then backward from ``dout``, one gate at a time.

    The local gradients are the oracle's gradients for an upstream of 1; the gradient each gate
    hands back is the oracle's vector-Jacobian product for the upstream it actually received,
    which the chain rule says is local gradient times upstream (the tests check that it is).
    """
    from bpverify.grading import oracles  # jax is heavy; only the commands that compute pay for it

    wires: dict[str, float] = {k: float(v) for k, v in values.items()}
    wires.update({k: float(v) for k, v in (constants or {}).items()})
    locals_: list[list[float]] = []
    for node in nodes:
        out, local = oracles.gate(node.gate, [wires[w] for w in node.inputs], node.const, 1.0)
        wires[node.output] = float(out)
        locals_.append([float(g) for g in local])
    output = nodes[-1].output
    grads: dict[str, float] = {output: float(dout)}
    back: dict[int, tuple[float, list[float]]] = {}
    for i in reversed(range(len(nodes))):
        node = nodes[i]
        upstream = grads.get(node.output, 0.0)
        _, got = oracles.gate(node.gate, [wires[w] for w in node.inputs], node.const, upstream)
        back[i] = (upstream, [float(g) for g in got])
        for w, g in zip(node.inputs, back[i][1]):
            grads[w] = grads.get(w, 0.0) + g  # a wire that fans out collects every gradient
    steps = tuple(
        GateStep(
            gate=n.gate, label=n.label, inputs=n.inputs, output=n.output,
            input_values=tuple(wires[w] for w in n.inputs), output_value=wires[n.output],
            expected_output=wires[n.output], upstream=back[i][0], grads=tuple(back[i][1]),
            expected_grads=tuple(back[i][1]), local_grads=tuple(locals_[i]),
            forward_ok=True, backward_ok=True,
        )
        for i, n in enumerate(nodes)
    )
    return Walk(
        title=title, inputs=tuple(inputs if inputs is not None else values), steps=steps,
        values=wires, grads=grads, output=output, constants=dict(constants or {}),
        nodes=tuple(nodes),
    )


def lecture_walks() -> tuple[Walk, Walk]:
    """The lecture's two examples at its values: (x+y)z, then the sigmoid neuron."""
    out = []
    for name in ("circuit (x+y)*z", "circuit sigmoid neuron"):
        c = CIRCUITS[name]
        out.append(walk(c.nodes, dict(c.lecture_values), title=c.title, inputs=c.inputs))
    return out[0], out[1]


@dataclass(frozen=True)
class Shortcut:
    """The sigmoid gate in one piece: sigma(s) and its local gradient (1 - sigma) sigma."""

    wire: str  #: the wire the sigmoid takes as input (the weighted sum)
    pre: float  #: its value, w0 x0 + w1 x1 + w2
    out: float
    local: float
    grad: float  #: local * upstream, to compare with the six-gate walk's gradient on ``wire``


def sigmoid_shortcut(neuron: Walk) -> Shortcut:
    """Run the whole *-1, exp, +1, 1/x chain as one SigmoidGate on the sum it squashes."""
    from bpverify.grading import oracles

    first = next(s for s in neuron.steps if s.gate == "ScaleGate")
    pre = neuron.values[first.inputs[0]]
    upstream = neuron.grads[neuron.output]
    out, (local,) = oracles.gate("SigmoidGate", [pre], None, 1.0)
    _, (grad,) = oracles.gate("SigmoidGate", [pre], None, upstream)
    return Shortcut(first.inputs[0], pre, float(out), float(local), float(grad))


# --- words ------------------------------------------------------------------------------


def _formula(step: GateStep, consts: Mapping[str, float]) -> str:
    a = [_wire(w, consts) for w in step.inputs]
    const = _const_of(step)
    op = of_gate(step.gate)
    if op.gate in ("AddConstGate", "ScaleGate"):  # the constant is an operand of the formula
        if op.gate == "AddConstGate" and const < 0:
            return OPERATIONS["-"].lecture.format(a[0], num(-const))
        a = [a[0], num(const)]
    return op.lecture.format(*a)


def _const_of(step: GateStep) -> float:
    """The constant of a ScaleGate or AddConstGate, recovered from its values."""
    x, z = step.input_values[0], step.output_value
    if step.gate == "ScaleGate":
        return step.local_grads[0]  # d(a x)/dx = a
    return z - x


def _factor(v: float) -> str:
    """A factor in a product, with the digit that keeps the product's rounding honest."""
    return num(v) if num(v).lstrip("-").isdigit() else f"{v:.3g}"


def _wire(name: str, consts: Mapping[str, float]) -> str:
    return num(consts[name]) if name in consts else name


def gate_sentence(step: GateStep, consts: Mapping[str, float] | None = None) -> str:
    """The lecture's explanation of one gate's backward step, with this step's numbers."""
    consts = consts or {}
    up = num(step.upstream)
    ins = [_wire(w, consts) for w in step.inputs]
    g = [num(v) for v in step.grads]
    loc = [num(v) for v in step.local_grads]
    x = [num(v) for v in step.input_values]
    if step.gate == "AddGate":
        return (f"An add gate distributes the gradient equally: its local gradients are 1 and 1, "
                f"so {ins[0]} and {ins[1]} both get the upstream {up}.")
    if step.gate == "MultiplyGate":
        u = _factor(step.upstream)
        return (f"A multiply gate switches: each input gets the upstream gradient times the other "
                f"input, d{ins[0]} = {x[1]} × {u} = {g[0]} and d{ins[1]} = {x[0]} × {u} = {g[1]}.")
    if step.gate == "MaxGate":
        win = 0 if step.local_grads[0] >= step.local_grads[1] else 1
        return (f"A max gate routes the gradient: the larger input {ins[win]} = {x[win]} gets "
                f"all of the upstream {up}, the other gets 0.")
    if step.gate == "ExpGate":
        return (f"The local gradient of e^x is e^x itself, e^{x[0]} = {loc[0]}; "
                f"times the upstream {up} that gives {g[0]}.")
    if step.gate == "ReciprocalGate":
        return (f"The local gradient of 1/x is -1/x² = -1/{x[0]}² = {loc[0]}; "
                f"times the upstream {up} that gives {g[0]}.")
    if step.gate == "AddConstGate":
        return (f"Adding a constant has local gradient 1, so the upstream {up} passes through "
                f"unchanged to {ins[0]}.")
    if step.gate == "ScaleGate":
        return (f"Scaling by {loc[0]} has local gradient {loc[0]}; "
                f"times the upstream {up} that gives {g[0]}.")
    if step.gate == "SigmoidGate":
        z = num(step.output_value)
        return (f"The sigmoid gate's local gradient is (1 - σ) σ = (1 - {z}) × {z} = {loc[0]}; "
                f"times the upstream {up} that gives {g[0]}.")
    return f"local gradient {', '.join(loc)} times the upstream {up} gives {', '.join(g)}."


def _influence(name: str, grad: float, out: str) -> str:
    if grad == 0:
        return f"d{out}/d{name} = 0: a small change of {name} does not move {out}."
    way = "increases" if grad > 0 else "decreases"
    return (f"d{out}/d{name} = {num(grad)}: increase {name} by a small h and {out} {way} "
            f"by {num(abs(grad))}h.")


def _fanout(w: Walk) -> list[str]:
    uses: dict[str, list[GateStep]] = {}
    for s in w.steps:
        for name in dict.fromkeys(s.inputs):
            uses.setdefault(name, []).append(s)
    notes = []
    for name, steps in uses.items():
        parts = [g for s in steps for n, g in zip(s.inputs, s.grads) if n == name]
        if len(parts) > 1 and name not in w.constants:
            notes.append(
                f"{name} is used {len(parts)} times, so its gradients add: "
                f"{' + '.join(num(p) for p in parts)} = {num(w.grads[name])}."
            )
    return notes


# --- terminal ---------------------------------------------------------------------------


def _pairs(names: Sequence[str], vals: Sequence[float], consts: Mapping[str, float],
           sep: str = ", ") -> str:
    return sep.join(
        num(v) if n in consts else f"{n} = {num(v)}" for n, v in zip(names, vals)
    )


def render_walk(w: Walk, console: Console, *, heading: str = "") -> None:
    """The forward line, the backward table (the lecture's order: from the end) and its words."""
    out = w.output
    consts = w.constants
    console.print(Text(heading or w.title, style="bold"))
    console.print(f"at {_pairs(w.inputs, [w.values[i] for i in w.inputs], {})}")
    console.print(Text("Forward pass (values, green in the lecture):", style="green"))
    for s in w.steps:
        console.print(f"  {s.output} = {_formula(s, consts)} = {num(s.output_value)}")
    console.print(Text("Backward pass (gradients, red in the lecture): start at the end, "
                       f"d{out}/d{out} = {num(w.grads[out])}.", style="red"))
    table = Table(show_lines=False, title_justify="left", pad_edge=False)
    for col, style in (("#", "dim"), ("gate", "bold"), ("inputs", "green"), ("output", "green"),
                       ("local gradient", ""), (f"upstream d{out}/d(output)", "red"),
                       ("gradient", "red")):
        table.add_column(col, style=style, overflow="fold", no_wrap=col in ("#", "gate"))
    order = list(reversed(w.steps))
    for k, s in enumerate(order, start=1):
        local = "\n".join(
            f"∂{s.output}/∂{n} = {num(v)}" for n, v in zip(s.inputs, s.local_grads)
            if n not in consts
        )
        grad = "\n".join(
            f"d{out}/d{n} = {num(v)}" for n, v in zip(s.inputs, s.grads) if n not in consts
        )
        table.add_row(
            str(k), f"{s.label}\n{s.gate}", _pairs(s.inputs, s.input_values, consts, "\n"),
            f"{s.output} = {num(s.output_value)}", local, num(s.upstream),
            grad,
        )
    console.print(table)
    console.print("Chain rule at every gate: gradient = local gradient × upstream gradient "
                  "(numbers rounded as in the lecture; the arithmetic is exact).")
    for k, s in enumerate(order, start=1):
        console.print(f"  {k}. {s.label}: {gate_sentence(s, consts)}")
    for note in _fanout(w):
        console.print(f"  {note}")
    console.print(Text("Result:", style="bold"))
    for name in w.inputs:
        console.print(f"  {_influence(name, w.grads[name], out)}")


def shortcut_sentences(neuron: Walk) -> list[str]:
    """The lecture's sigmoid shortcut, checked against the gate-by-gate walk."""
    sc = sigmoid_shortcut(neuron)
    dsum = neuron.grads[sc.wire]
    same = "the same" if math.isclose(sc.grad, dsum, rel_tol=1e-9) else "NOT the same"
    return [
        f"The last four gates compute σ({sc.wire}) = 1/(1 + e^-{sc.wire}), and its local "
        f"gradient is (1 - σ) σ. At {sc.wire} = {num(sc.pre)}: σ = {num(sc.out)}, so "
        f"(1 - {num(sc.out)}) × {num(sc.out)} = {num(sc.local)}.",
        f"One sigmoid gate gives d{neuron.output}/d{sc.wire} = {num(sc.grad)}, {same} as the "
        f"{num(dsum)} of the four gates: any piece whose local gradient you can write down can "
        "be one gate.",
    ]


def render_lecture(console: Console) -> tuple[Walk, Walk]:
    """Print both of the lecture's walkthroughs and the sigmoid shortcut; return the walks."""
    first, neuron = lecture_walks()
    render_walk(first, console, heading=f"Example 1: {first.title}")
    console.print()
    render_walk(neuron, console, heading=f"Example 2, the sigmoid neuron: {neuron.title}")
    console.print(Text("The sigmoid shortcut:", style="bold"))
    for sentence in shortcut_sentences(neuron):
        console.print(f"  {sentence}")
    return first, neuron
