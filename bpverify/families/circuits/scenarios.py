"""The circuits' scenario (worker side): a circuit built from the submission's own gates, run
forward and backward, every gate's values recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bpverify.contract import CIRCUITS, GATES, as_gradients
from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.namespace import call_student as _call
from bpverify.submission.replies import CircuitReply, CircuitStep
from bpverify.submission.scenarios import make_gate, plain

__all__ = ["SCENARIOS"]


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
        g = make_gate(sub, node.gate, node.const)
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


SCENARIOS: dict[str, Callable[..., Any]] = {"circuit": circuit}
