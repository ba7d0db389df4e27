"""The gates' scenarios (worker side): build the submission's gate, run forward and backward on
the grader's inputs, and return plain data (what it returned, and its inputs afterwards)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.namespace import call_student as _call
from bpverify.submission.replies import GatePairReply, GateReply
from bpverify.submission.scenarios import copied, make_gate, plain

__all__ = ["BATCHABLE", "SCENARIOS"]


def gate(
    sub: LoadedSubmission, name: str, const: float | None, inputs: list[Any], dout: Any
) -> GateReply:
    g = make_gate(sub, name, const)
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
    g = make_gate(sub, name, const)
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
    ga, gb = make_gate(sub, name, consts[0]), make_gate(sub, name, consts[1])
    _call(f"{name}.forward (first instance)", ga.forward, *[copied(v) for v in inputs_a])
    _call(f"{name}.forward (second instance)", gb.forward, *[copied(v) for v in inputs_b])
    grads_a = plain(_call(f"{name}.backward (first instance)", ga.backward, copied(dout_a)))
    grads_b = plain(_call(f"{name}.backward (second instance)", gb.backward, copied(dout_b)))
    return {"grads_a": grads_a, "grads_b": grads_b}


SCENARIOS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (gate, gate_forward, gate_pair)
}
#: The scenarios ``many`` may batch: each returns a forward's value and keeps nothing.
BATCHABLE = ("gate_forward",)
