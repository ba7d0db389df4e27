"""The checks of CS231n's inverted dropout, judged with the submission's own mask.

Dropout draws a random mask, and no grader can expect the same random numbers (students
draw with ``np.random.rand < p``, ``np.random.binomial``, ``np.random.choice``, ...).  So the
forward is judged on the mask it used, read from its output (x is never 0, so a dropped unit is
exactly where out is 0): in train mode every kept unit is x divided by the keep probability
(inverted dropout: the expected output is x), and across 2000 units the fraction kept is the
keep probability (within five standard deviations of the binomial); in test mode out is x.  The
backward is judged against the same call's forward: dx = dout * out / x (its own mask, scaled
as its forward scaled it), and dx = dout in test mode.  What ``p`` means is read by the worker
(contract.p_meaning) and said in every verdict.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import Item, check_numeric
from bpverify.families.dropout.contract import P_MEANINGS
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    expect_shape,
    judge,
    judge_unmodified,
)
from bpverify.model import Facts
from bpverify.strategies import values
from bpverify.submission import Executor

__all__ = ["checks_for", "dropout_cases"]

#: Never 0.5, where both meanings of p agree.
_P = st.sampled_from([0.3, 0.8, 0.25, 0.7, 0.2, 0.75])
_SEED = st.integers(0, 2**31 - 1)
#: Units in the expectation check's batch: enough that the kept fraction is within 0.05 of
#: the keep probability at five standard deviations.
BIG = (40, 50)
#: How many standard deviations of the binomial the kept fraction may be off.
SIGMAS = 5.0


def _case(draw: st.DrawFn, big: bool) -> Case:
    shape = BIG if big else (draw(st.integers(1, 6)), draw(st.integers(2, 8)))
    x = draw(values(shape, lo=-3.0, hi=3.0))
    x = np.where(np.abs(x) < 0.1, 0.5, x)  # a unit is dropped exactly where out == 0
    return {"x": x, "dout": draw(values(shape, lo=-3.0, hi=3.0)), "p": draw(_P),
            "seed": draw(_SEED)}


@functools.cache
def dropout_cases(big: bool = False) -> st.SearchStrategy[Case]:
    return st.composite(lambda draw: _case(draw, big))()


def _call(ex: Executor, case: Case, mode: str, backward: bool) -> Any:
    param = {"p": case["p"], "mode": mode, "seed": case["seed"]}
    return ex.call("dropout", x=case["x"], param=param, dout=case["dout"], backward=backward)


def _keep(case: Case, reply: Any) -> tuple[float, str]:
    """(the keep probability, p's meaning in words as the reply says it was read)."""
    means = reply["p_means"]
    words = f"p = {case['p']:g} is {P_MEANINGS[means]} (from {reply['p_source']})"
    return (case["p"] if means == "keep" else 1.0 - case["p"]), words


def _out(case: Case, reply: Any, where: str) -> np.ndarray:
    expect_shape(reply["out"], case["x"].shape, "out", where, "the shape of x", named=True)
    return np.asarray(reply["out"], dtype=np.float64)


def train_mode(ex: Executor, case: Case) -> None:
    reply = _call(ex, case, "train", False)
    where = "dropout_forward(x, dropout_param) in train mode"
    out = _out(case, reply, where)
    q, words = _keep(case, reply)
    kept = out != 0
    dtype = working_dtype(reply["out"])
    judge(where, ["out"], [out], [np.where(kept, case["x"] / q, 0.0)], tolerance_for(dtype),
          f"x / {q:g} where a unit is kept and 0 where it is dropped (inverted dropout "
          f"divides by the keep probability; {words})")


def expectation(ex: Executor, case: Case) -> None:
    reply = _call(ex, case, "train", False)
    where = "dropout_forward(x, dropout_param) in train mode"
    out = _out(case, reply, where)
    q, words = _keep(case, reply)
    n = out.size
    kept = float(np.count_nonzero(out)) / n
    bound = SIGMAS * np.sqrt(q * (1 - q) / n) + 1.0 / n
    if abs(kept - q) > bound:
        raise CheckFailed(
            "keep-fraction",
            f"{where} kept {kept:.1%} of {n} units; expected {q:.0%} (within {bound:.1%}) "
            f"since {words}",
            expected={"kept fraction": q}, got={"kept fraction": kept},
            facts=Facts(where=where, value="out"))


def test_mode(ex: Executor, case: Case) -> None:
    reply = _call(ex, case, "test", False)
    where = "dropout_forward(x, dropout_param) in test mode"
    out = _out(case, reply, where)
    judge(where, ["out"], [out], [case["x"]], tolerance_for(working_dtype(reply["out"])),
          "x itself (test mode keeps every unit and scales none: inverted dropout did its "
          "scaling at train time)")


def forward_hygiene(ex: Executor, case: Case) -> None:
    reply = _call(ex, case, "train", False)
    judge_unmodified("dropout_forward", ["x"], [case["x"]], [reply["inputs_after"][0]
                     if isinstance(reply["inputs_after"], list) else reply["inputs_after"]],
                     "input")


def _dx(case: Case, reply: Any, where: str) -> np.ndarray:
    check_numeric(reply["dx"], where)
    expect_shape(reply["dx"], case["x"].shape, "dx", where, "the shape of x")
    return np.asarray(reply["dx"], dtype=np.float64)


def backward(ex: Executor, case: Case) -> bool:
    reply = _call(ex, case, "train", True)
    where = "dropout_backward(dout, cache) in train mode"
    out = np.asarray(reply["out"], dtype=np.float64)
    if out.shape != case["x"].shape:
        return False  # the forward check says what is wrong
    dx = _dx(case, reply, where)
    _, words = _keep(case, reply)
    judge(where, ["dx"], [dx], [case["dout"] * out / case["x"]],
          tolerance_for(working_dtype(reply["dx"], reply["out"])),
          f"dout times the mask your forward applied, scaled as it scaled it ({words})")
    return True


def backward_test_mode(ex: Executor, case: Case) -> None:
    reply = _call(ex, case, "test", True)
    where = "dropout_backward(dout, cache) in test mode"
    dx = _dx(case, reply, where)
    judge(where, ["dx"], [dx], [case["dout"]], tolerance_for(working_dtype(reply["dx"])),
          "dout itself (test mode's forward is the identity)")


def backward_hygiene(ex: Executor, case: Case) -> None:
    reply = _call(ex, case, "train", True)
    judge_unmodified("dropout_backward", ["dout"], [case["dout"]], [reply["dout_after"]],
                     "upstream gradient")
    judge_unmodified("dropout_backward", ["x"], [reply["inputs_after_forward"]],
                     [reply["inputs_after"]], "cached input")


def checks_for(item: Item) -> list[Check]:
    cases = dropout_cases()
    if item.name == "dropout_forward":
        return [
            Check("train mode", cases, train_mode,
                  "kept units are x divided by the keep probability, dropped ones 0"),
            Check("expectation", dropout_cases(big=True), expectation,
                  "the fraction kept is the keep probability: out equals x in expectation"),
            Check("test mode", cases, test_mode, "test mode returns x unchanged"),
            Check("hygiene", cases, forward_hygiene, "x is left unmodified"),
        ]
    return [
        Check("backward", cases, backward,
              "dx is dout through the forward's own mask, scaled as the forward scaled it"),
        Check("test mode", cases, backward_test_mode, "test mode passes dout unchanged"),
        Check("hygiene", cases, backward_hygiene, "dout and the cached x are left unmodified"),
    ]
