"""The lecture's circuits built from the submission's own gates, recorded gate by gate: generated
values (forward, backward), then once at the lecture's worked example ("lecture values")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bpverify import strategies
from bpverify.closeness import close, tolerance_for, working_dtype
from bpverify.contract import CIRCUITS, GATES, ContractError, Item, as_gradients, check_numeric
from bpverify.grading import oracles
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    contract_failed,
    judge,
    student_failed,
    to_plain,
)
from bpverify.grading.checks.gatework import gate_oracle, project_max_ties
from bpverify.model import CheckResult, GateStep
from bpverify.submission import Executor, StudentError
from bpverify.submission.replies import CircuitReply


def circuit_trace(name: str, values: dict[str, float], dout: float,
                  res: CircuitReply) -> list[GateStep]:
    """Every gate as it ran, beside what a correct gate returns on the same inputs and upstream."""
    spec = CIRCUITS[name]
    trace = []
    for node, step in zip(spec.nodes, res["steps"]):
        gspec = GATES[node.gate]
        ins = [float(np.squeeze(v)) for v in step["inputs"]]
        upstream = step.get("upstream")
        exp_out, local = gate_oracle(node.gate, ins, node.const, 1.0, np.dtype(np.float64))
        out_ok = _close(step["output"], exp_out)
        try:
            grads = [float(np.squeeze(g)) for g in
                     as_gradients(step.get("grads"), gspec.grads, node.gate)]
        except (ContractError, TypeError):
            grads = []
        if upstream is not None:
            up = float(np.squeeze(upstream))
            _, exp_grads = gate_oracle(node.gate, ins, node.const, up, np.dtype(np.float64))
            if node.gate == "MaxGate":
                exp_grads = project_max_ties(ins, up, grads or [0.0, 0.0])
            exp = [float(g) for g in exp_grads]
            back_ok = bool(grads) and all(_close(g, e) for g, e in zip(grads, exp))
        else:  # the backward pass was not run: nothing to judge, nothing to blame
            up, exp, back_ok = None, [], True
        trace.append(GateStep(
            gate=node.gate, label=node.label, inputs=node.inputs, output=node.output,
            input_values=tuple(ins), output_value=to_plain(step["output"]),
            expected_output=float(exp_out), upstream=up, grads=tuple(grads),
            expected_grads=tuple(exp), local_grads=tuple(float(g) for g in local),
            forward_ok=out_ok, backward_ok=back_ok,
        ))
    return trace


def _close(got: Any, expected: Any) -> bool:
    """The closeness rule, in the precision the gate computed in (its value may be (1,)-shaped)."""
    try:
        squeezed = np.squeeze(got)
    except (TypeError, ValueError):
        return False
    return close(squeezed, expected, tolerance_for(working_dtype(got)))


def circuit_checks(name: str) -> list[Check]:
    spec = CIRCUITS[name]
    cases = strategies.circuit_cases(spec.inputs)

    def run(ex: Executor, case: Case, backward: bool = True,
            ) -> tuple[CircuitReply, list[GateStep], Any, list[Any]]:
        res = ex.call("circuit", name=name, values=case["values"], dout=case["dout"],
                      backward=backward)
        trace = circuit_trace(name, case["values"], case["dout"], res)
        out, grads = oracles.circuit(spec.nodes, case["values"], case["dout"])
        return res, trace, out, [grads[w] for w in spec.inputs]

    def forward(ex: Executor, case: Case) -> None:
        res, trace, out, _ = run(ex, case, backward=False)
        got = res["steps"][-1]["output"]
        check_numeric(got, f"{name} output")
        try:
            judge(name, ["f"], [np.squeeze(got)], [out], tolerance_for(_circuit_dtype(res)),
                   "the oracle's value")
        except CheckFailed as exc:
            guilty = next((s for s in trace if not s.forward_ok), None)
            blame = (f" The first gate whose output is wrong is {guilty.gate} "
                     f"(the {guilty.label} gate computing {guilty.output})." if guilty else "")
            raise exc.amended(message=exc.message + "." + blame, trace=tuple(trace)) from None

    def backward(ex: Executor, case: Case) -> None:
        res, trace, _, grads = run(ex, case)
        names = ["d" + w for w in spec.inputs]
        got = [res["input_grads"][w] for w in spec.inputs]
        for n, g in zip(names, got):
            check_numeric(g, f"{name} gradient {n}")
        try:
            judge(name, names, [np.squeeze(g) for g in got], grads,
                   tolerance_for(_circuit_dtype(res)),
                   "backpropagation through correct gates")
        except CheckFailed as exc:
            guilty = next((s for s in reversed(trace) if not s.backward_ok), None)
            blame = ""
            if guilty is not None:
                blame = (
                    f" The first gate (going backward) whose gradient is wrong is {guilty.gate} "
                    f"(the {guilty.label} gate): given upstream {guilty.upstream:.4g} it returned "
                    f"{_fmt(guilty.grads)}, expected {_fmt(guilty.expected_grads)}."
                )
            raise exc.amended(message=exc.message + "." + blame, trace=tuple(trace)) from None

    return [
        Check("forward", cases, forward, "the circuit's output matches the oracle"),
        Check("backward", cases, backward, "the input gradients match the oracle"),
    ]


def _circuit_dtype(res: CircuitReply) -> np.dtype[Any]:
    """The lowest precision any gate of the circuit computed in (float32 gates round)."""
    values = [step.get(k) for step in res["steps"] for k in ("output", "grads")]
    flat: list[Any] = []
    for v in values:
        flat.extend(v if isinstance(v, (list, tuple)) else [v])
    return working_dtype(*(v for v in flat if isinstance(v, np.ndarray)))


def _fmt(vals: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in vals) + ")"


#: The extra check of a circuit: its trace at the lecture's worked example.
LECTURE_CHECK = "lecture values"


def lecture_trace(item: Item, executor: Executor) -> CheckResult:
    """A passing circuit still gets its gate-by-gate trace at the lecture's values."""
    spec = CIRCUITS[item.name]
    values = dict(spec.lecture_values)
    try:
        res = executor.call("circuit", name=item.name, values=values, dout=1.0)
        trace = circuit_trace(item.name, values, 1.0, res)
    except (StudentError, ContractError) as exc:
        facts = (student_failed(exc) if isinstance(exc, StudentError)
                 else contract_failed(exc)).facts
        return CheckResult(name=LECTURE_CHECK, status="failed", kind="raised",
                           message=str(exc), example=values, facts=facts)
    ok = all(s.forward_ok and s.backward_ok for s in trace)
    return CheckResult(
        name=LECTURE_CHECK, status="passed" if ok else "failed", example=values,
        trace=tuple(trace), kind="" if ok else "wrong-values",
        message="" if ok else "the circuit disagrees with the lecture's worked example",
    )


def checks_for(item: Item) -> list[Check]:
    """The generated checks of one circuit (the registry's entry point)."""
    return circuit_checks(item.name)


def fixed_checks(item: Item) -> dict[str, Callable[[Executor], CheckResult]]:
    """The checks run once on fixed values, after the generated ones: the lecture's example."""
    return {LECTURE_CHECK: lambda executor: lecture_trace(item, executor)}
