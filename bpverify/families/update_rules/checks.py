"""The checks of CS231n's update rules: ``(w, dw, config=None) -> (next_w, config)``.

Every check calls the rule three steps in a row as the solver does (the returned next_w and
config are the next call's w and config) and judges each step's next_w and returned state
against the docstring's rule (:mod:`.rules`, float64):

- defaults: ``config=None``: the docstring's hyperparameters come back in config, and the steps
  are right with them, from zero state (Adam's t starts at 0, or at 1 as in 2016);
- update: drawn hyperparameters and state, as the notebook passes them;
- small gradients (RMSProp, Adam): gradients of 1e-8 to 1e-7, where sqrt of the cache is near
  eps, so eps's place in the formula shows;
- hygiene: dw is left unmodified (changing w in place is the course's own sgd, and allowed).

A failed step keeps that step's inputs in ``expected`` (``given w``, ``given dw``,
``given config['...']``, and ``step``), so the diagnoses can compute the mistakes' values at
that step.  Adam's next_w in the paper's efficient form (eps added to the uncorrected
sqrt(v)) is accepted too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify import strategies
from bpverify.closeness import close, tolerance_for, working_dtype
from bpverify.contract import Item
from bpverify.families.update_rules.contract import RULES, RuleSpec
from bpverify.families.update_rules.rules import adam_paper, step
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    expect_shape,
    judge,
    judge_unmodified,
    to_plain,
)
from bpverify.model import Facts
from bpverify.submission import Executor

__all__ = ["checks_for", "update_cases"]

STEPS = 3
_HYPER = {
    "learning_rate": st.sampled_from([1e-2, 1e-3, 5e-2, 0.1]),
    "momentum": st.sampled_from([0.9, 0.5, 0.99]),
    "decay_rate": st.sampled_from([0.99, 0.9, 0.999]),
    "epsilon": st.sampled_from([1e-8, 1e-6]),
    "beta1": st.sampled_from([0.9, 0.8]),
    "beta2": st.sampled_from([0.999, 0.99]),
}
_SHAPES = hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)


@st.composite
def update_cases(draw: st.DrawFn, name: str, *, small: bool = False,
                 defaults: bool = False) -> Case:
    """w, STEPS gradients and a config: None (``defaults``), else every hyperparameter and
    state given.  ``small``: gradients (and state) of 1e-8 to 1e-7, where eps matters."""
    spec = RULES[name]
    shape = draw(_SHAPES)
    scale = draw(st.sampled_from([1e-8, 1e-7])) if small else 1.0
    w = draw(strategies.values(shape, lo=-2.0, hi=2.0))
    dws = [draw(strategies.values(shape, lo=-3.0, hi=3.0)) * scale for _ in range(STEPS)]
    if defaults:
        return {"w": w, "dws": dws, "config": None}
    config: dict[str, Any] = {k: draw(_HYPER[k]) for k, _ in spec.defaults}
    for key in spec.state:
        if key == "t":
            config["t"] = draw(st.integers(0, 10))
        elif key in ("cache", "v"):
            config[key] = np.abs(draw(strategies.values(shape, lo=0.0, hi=1.0))) * scale**2
        else:
            config[key] = draw(strategies.values(shape, lo=-1.0, hi=1.0)) * scale
    return {"w": w, "dws": dws, "config": config}


class UpdateChecks:
    """The checks of one update rule, as named steps."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec, self.name = spec, spec.name

    def call(self, ex: Executor, case: Case) -> list[dict[str, Any]]:
        reply: dict[str, Any] = ex.call("update_steps", name=self.name, w=case["w"],
                                        dws=case["dws"], config=case["config"])
        return list(reply["steps"])

    def where(self, k: int) -> str:
        return f"{self.name}(w, dw, config) (step {k + 1})"

    def _failed(self, exc: CheckFailed, k: int, w: Any, dw: Any,
                config: dict[str, Any]) -> CheckFailed:
        inputs = {"step": k + 1, "given w": to_plain(w), "given dw": to_plain(dw),
                  **{f"given config['{key}']": to_plain(v) for key, v in config.items()}}
        return exc.amended(expected={**(exc.expected or {}), **inputs})

    def judge_steps(self, case: Case, steps: list[dict[str, Any]], config: dict[str, Any]) -> None:
        """Each step against the rule applied to what that step was given: ``config``
        (hyperparameters and state) first, then the previous step's next_w and state as
        returned (judged right, within the tolerance), as the solver passes them on."""
        w = np.asarray(case["w"], dtype=np.float64)
        for k, (dw, got) in enumerate(zip(case["dws"], steps)):
            where = self.where(k)
            try:
                self.judge_step(where, w, dw, config, got)
            except CheckFailed as exc:
                raise self._failed(exc, k, w, dw, config) from None
            w = np.asarray(got["next_w"], dtype=np.float64)
            state = {key: got["config"][key] for key in self.spec.state}
            if "t" in state:
                state["t"] = round(float(state["t"]))
            config = {**config, **state}

    def judge_step(self, where: str, w: Any, dw: Any, config: dict[str, Any],
                   got: dict[str, Any]) -> None:
        got_w, got_config = got["next_w"], got["config"]
        expect_shape(got_w, np.shape(w), "next_w", where, "next_w has the shape of w",
                     named=True)  # next_w of (next_w, config): None is the starter's
        bad = ~np.isfinite(np.asarray(got_w, dtype=np.float64))
        if bad.any():  # (not expect_finite: its advice is about exp overflowing)
            raise CheckFailed("not-finite", f"{where} returned next_w containing nan or inf "
                              f"({int(bad.sum())} of {bad.size} elements): a division by 0?",
                              facts=Facts(where=where, value="next_w"))
        tol = tolerance_for(working_dtype(got_w))
        exp_w, state = step(self.name, w, dw, config)
        valid = [exp_w] + ([adam_paper(w, dw, config)] if self.name == "adam" else [])
        if not any(close(got_w, v, tol) for v in valid):
            judge(where, ["next_w"], [got_w], [exp_w], tol, "the docstring's update rule")
        for key, value in state.items():
            if key not in got_config:
                raise CheckFailed(
                    "missing-state", f"{where} returned config without '{key}', the state the "
                    "next step needs: store it in config (the solver passes config back)",
                    facts=Facts(where=where, value=f"config['{key}']", missing_keys=(key,)))
            shape = () if key == "t" else np.shape(value)
            expect_shape(got_config[key], shape, f"config['{key}']", where,
                         "the state has the shape of w" if shape else "t is a number")
            judge(where, [f"config['{key}']"], [got_config[key]], [value], tol,
                  "the docstring's update rule")

    def start(self, got: dict[str, Any]) -> dict[str, Any]:
        """The config a ``config=None`` call starts from: the docstring's defaults (judged
        against what came back), zero state, and t = 0 (or 1, the 2016 starter's default)."""
        where, returned = self.where(0), got["config"]
        for key, value in self.spec.defaults:
            if key not in returned:
                raise CheckFailed(
                    "missing-state", f"{where} with config=None returned config without "
                    f"'{key}'; the docstring sets it to {value:g} by default",
                    facts=Facts(where=where, value=f"config['{key}']", missing_keys=(key,)))
            judge(where, [f"config['{key}']"], [returned[key]], [value],
                  tolerance_for(np.float64), "the docstring's default")
        config: dict[str, Any] = dict(self.spec.defaults)
        shape = np.shape(got["next_w"])
        for key in self.spec.state:
            config[key] = np.zeros(shape)
        if "t" in self.spec.state:
            t = returned.get("t")
            config["t"] = 1 if isinstance(t, (int, float)) and t == 2 else 0
        return config

    # --- checks --------------------------------------------------------------------------

    def defaults(self, ex: Executor, case: Case) -> None:
        steps = self.call(ex, case)
        self.judge_steps(case, steps, self.start(steps[0]))

    def update(self, ex: Executor, case: Case) -> None:
        self.judge_steps(case, self.call(ex, case), dict(case["config"]))

    def hygiene(self, ex: Executor, case: Case) -> None:
        for k, (dw, got) in enumerate(zip(case["dws"], self.call(ex, case))):
            judge_unmodified(self.where(k), ["dw"], [dw], [got["dw_after"]], "input")

    def checks(self) -> list[Check]:
        cases = update_cases(self.name)
        found = [
            Check("defaults", update_cases(self.name, defaults=True), self.defaults,
                  "config=None: the docstring's defaults, three steps with the state fed back"),
            Check("update", cases, self.update,
                  "three steps with the state fed back match the docstring's rule and state"),
        ]
        if self.spec.eps:
            found.append(Check("small gradients", update_cases(self.name, small=True),
                               self.update, "right for gradients of 1e-8, where eps matters"))
        found.append(Check("hygiene", cases, self.hygiene, "dw is left unmodified"))
        return found


def checks_for(item: Item) -> list[Check]:
    """The checks of one update rule."""
    return UpdateChecks(RULES[item.name]).checks()
