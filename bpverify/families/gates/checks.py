"""The lecture's gates and the sigmoid neuron: forward, backward, numerical, hygiene, instances.

The gates family's checks (its ``checks_for``); the oracle and max's ties are shared with the
circuits (:mod:`bpverify.grading.checks.gatework`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import GATES, ContractError, Item, as_gradients
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    ScenarioForward,
    expect_finite,
    expect_shape,
    judge,
    judge_numerically,
    judge_unmodified,
    nearby,
    weighted_sum,
)
from bpverify.grading.checks.gatework import STABLE_FROM, gate_oracle, project_max_ties
from bpverify.submission import Executor
from bpverify.submission.replies import GateReply


def gate_inputs(name: str, case: Case) -> list[Any]:
    return [case[n] for n in GATES[name].inputs]


def gate_call(ex: Executor, name: str, case: Case) -> tuple[GateReply, tuple[Any, ...]]:
    spec = GATES[name]
    res = ex.call("gate", name=name, const=case.get(spec.const or ""),
                  inputs=gate_inputs(name, case), dout=case["dout"])
    return res, as_gradients(res["grads"], spec.grads, f"{name}.backward")


def gate_alone(ex: Executor, name: str, case: Case) -> tuple[Any, tuple[Any, ...]]:
    res, grads = gate_call(ex, name, case)
    return res["out"], grads


def _out_shape(name: str, inputs: Sequence[Any]) -> tuple[int, ...]:
    return () if name == "SigmoidNeuron" else np.shape(inputs[0])


def judge_gate_forward(name: str, case: Case, out: Any) -> None:
    spec = GATES[name]
    inputs = gate_inputs(name, case)
    where = f"{name}.forward({', '.join(spec.inputs)})"
    expect_shape(out, _out_shape(name, inputs), "its output", where,
                  "the output has the shape of the inputs")
    dtype = working_dtype(out)
    expected, _ = gate_oracle(name, inputs, case.get(spec.const or ""), case["dout"], dtype)
    judge(where, ["out"], [out], [expected], tolerance_for(dtype), "the oracle's value")


def judge_gate_backward(name: str, case: Case, out: Any, grads: Sequence[Any]) -> None:
    spec = GATES[name]
    inputs = gate_inputs(name, case)
    where = f"{name}.backward(dout)"
    for gname, g, x in zip(spec.grads, grads, inputs):
        expect_shape(g, np.shape(x), gname, where,
                      f"a gradient has the shape of its input {gname[1:]}")
        expect_finite(g, gname, where)
    dtype = working_dtype(out, *grads)
    _, expected = gate_oracle(name, inputs, case.get(spec.const or ""), case["dout"], dtype)
    if name == "MaxGate":
        expected = project_max_ties(inputs, case["dout"], grads, dtype)
    judge(where, spec.grads, grads, expected, tolerance_for(dtype),
           "the chain rule (upstream gradient times local gradient)")


class GateChecks:
    """The checks of one gate class, each a named step over the gate's contract spec."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.spec = GATES[name]

    def const(self, case: Case) -> Any:
        return case.get(self.spec.const or "")

    def forward_at(self, ex: Executor, case: Case) -> Any:
        return ex.call("gate_forward", name=self.name, const=self.const(case),
                       inputs=gate_inputs(self.name, case))

    def forward(self, ex: Executor, case: Case) -> None:
        judge_gate_forward(self.name, case, self.forward_at(ex, case))

    def backward(self, ex: Executor, case: Case) -> None:
        res, grads = gate_call(ex, self.name, case)
        judge_gate_backward(self.name, case, res["out"], grads)

    def numerical(self, ex: Executor, case: Case) -> bool:
        name, spec = self.name, self.spec
        res, grads = gate_call(ex, name, case)

        def claimed() -> Sequence[Any]:
            judge_gate_forward(name, case, res["out"])
            for g, x in zip(grads, gate_inputs(name, case)):
                expect_shape(g, np.shape(x), "gradient", name, "")
            moved = nearby(case, spec.inputs)
            judge_gate_forward(name, moved, self.forward_at(ex, moved))
            return grads

        const = self.const(case)
        f = ScenarioForward(ex, "gate_forward",
                            lambda *ins: {"name": name, "const": const, "inputs": list(ins)},
                            lambda out: weighted_sum(out, case["dout"]))

        return judge_numerically(f"{name}.backward", spec.grads, case, claimed=claimed, f=f,
                                 args=gate_inputs(name, case))

    def hygiene(self, ex: Executor, case: Case) -> None:
        name, spec = self.name, self.spec
        res = ex.call("gate", name=name, const=self.const(case),
                      inputs=gate_inputs(name, case), dout=case["dout"])
        inputs = gate_inputs(name, case)
        judge_unmodified(f"{name}.forward", spec.inputs, inputs, res["inputs_after_forward"],
                         "input")
        judge_unmodified(f"{name}.backward", spec.inputs, inputs, res["inputs_after"],
                         "cached input")
        judge_unmodified(f"{name}.backward", ["dout"], [case["dout"]], [res["dout_after"]],
                         "upstream gradient")

    def instances(self, ex: Executor, pair: tuple[Case, Case]) -> bool:
        name, spec = self.name, self.spec
        a, b = pair
        res = ex.call(
            "gate_pair", name=name, consts=(self.const(a), self.const(b)),
            inputs_a=gate_inputs(name, a), inputs_b=gate_inputs(name, b),
            dout_a=a["dout"], dout_b=b["dout"],
        )
        for label, case, raw in (("first", a, res["grads_a"]), ("second", b, res["grads_b"])):
            grads = as_gradients(raw, spec.grads, f"{name}.backward ({label} instance)")
            try:
                judge_gate_backward(name, case, grads[0], grads)
            except CheckFailed as exc:
                if self._wrong_alone(ex, case):
                    return False  # the backward check reports it, not this one
                raise exc.amended(
                    kind="shared-state",
                    message=f"two {name} instances were forwarded before either ran backward, "
                    f"and the {label} one returned the wrong gradient: {exc.message}. Keep "
                    "what backward needs on self (the instance), never on the class or in "
                    "globals.",
                ) from None
        return True

    def _wrong_alone(self, ex: Executor, case: Case) -> bool:
        try:
            judge_gate_backward(self.name, case, *gate_alone(ex, self.name, case))
        except (CheckFailed, ContractError):
            return True
        return False

    def stability(self, ex: Executor, case: Case) -> None:
        res, grads = gate_call(ex, self.name, case)
        expect_finite(res["out"], "its output", f"{self.name}.forward")
        judge_gate_forward(self.name, case, res["out"])
        judge_gate_backward(self.name, case, res["out"], grads)

    def checks(self) -> list[Check]:
        cases = strategies.gate_cases(self.name)
        checks = [
            Check("forward", cases, self.forward, "forward matches the JAX oracle"),
            Check("backward", cases, self.backward,
                  "backward matches jax.vjp with a random upstream"),
            Check("numerical", cases, self.numerical, "backward matches centred differences"),
            Check("hygiene", cases, self.hygiene, "inputs and dout are left unmodified"),
            Check("instances", st.tuples(cases, cases), self.instances,
                  "two instances keep their own caches",
                  unjudged="backward is wrong even for a single instance (see the backward "
                  "check)"),
        ]
        if self.name in ("SigmoidGate", "SigmoidNeuron"):
            checks.append(Check("stability", strategies.gate_cases(self.name, large=True,
                                                                   smallest=STABLE_FROM),
                                self.stability, "finite and right for |x| up to 1000"))
        return checks


def gate_checks(name: str) -> list[Check]:
    return GateChecks(name).checks()


def checks_for(item: Item) -> list[Check]:
    """The checks of one gate (the registry's entry point)."""
    return gate_checks(item.name)
