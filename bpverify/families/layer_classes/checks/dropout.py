"""The book's Dropout (chapter 6): ``Dropout(dropout_ratio)``, ``forward(x, train_flg=True)``.

The book's is not inverted dropout: training drops each unit with probability
``dropout_ratio`` and keeps the others as they are (``x * mask``); test time keeps every unit
and scales by what training kept on average, ``x * (1 - dropout_ratio)``.  Inverted dropout
(``x * mask / (1 - dropout_ratio)`` in training, x at test time) has the same expectation and
passes too: what is judged is that training keeps each unit unchanged or scaled by one
factor, drops a ``dropout_ratio`` share of them, and that test time returns what training
returns on average.  The mask is the submission's own, read from its output (x is never 0),
and backward must apply it: ``dx = dout * mask`` (scaled as forward scaled).  numpy's global
generator is seeded for each training call, so every verdict can be repeated.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.closeness import tolerance_for, working_dtype
from bpverify.families.layer_classes.checks.chapter7 import (
    INTERFACE,
    finite,
    interface_check,
    run,
)
from bpverify.families.layer_classes.checks.facts import interface_of
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    expect_shape,
    judge,
    judge_unmodified,
)
from bpverify.model import Facts
from bpverify.submission import Executor

__all__ = ["SIGMAS", "dropout_checks", "scale_of"]

NAME = "Dropout"
#: Never 0.5, where dropping with probability p and keeping with it look the same.
_RATIOS = st.sampled_from([0.2, 0.3, 0.75, 0.6, 0.25])
#: Units in the drop-rate check's batch: the dropped share is then within 0.05 of the ratio at
#: five standard deviations.
BIG = (40, 50)
SIGMAS = 5.0


@st.composite
def _case(draw: st.DrawFn, big: bool, units: int) -> Case:
    rows, cols = (max(1, units // 8), 8) if units > 1 else (1, 2)
    shape = BIG if big else (draw(st.integers(rows, 5)), draw(st.integers(cols, 8)))
    x = draw(strategies.values(shape, lo=-3.0, hi=3.0))
    x = np.where(np.abs(x) < 0.1, 0.5, x)  # a unit is dropped exactly where out == 0
    return {"x": x, "dout": draw(strategies.values(shape, lo=-3.0, hi=3.0)),
            "dropout_ratio": draw(_RATIOS), "seed": draw(st.integers(0, 2**31 - 1))}


@functools.cache
def dropout_cases(big: bool = False, units: int = 1) -> st.SearchStrategy[Case]:
    """x, dout, dropout_ratio and a seed; ``units``: at least that many (the test mode check
    takes 16, so that a mask drawn at test time drops some of them)."""
    return _case(big, units)


def _train(case: Case) -> dict[str, Any]:
    return {"forward": [case["x"]], "flag": True, "seed": case["seed"]}


def _out(case: Case, out: Any, where: str) -> np.ndarray:
    if out is None:
        raise CheckFailed("bad-return", f"{where} returned None; expected out",
                          facts=Facts(where=where, value="out", returned_none=True))
    expect_shape(out, np.shape(case["x"]), "out", where, "the shape of x")
    finite(out, "out", where)
    return np.asarray(out, dtype=np.float64)


def scale_of(case: Case, out: Any) -> float | None:
    """The one factor training multiplies kept units by (1: the book's; 1 / (1 - ratio):
    inverted dropout), or None when the kept units are not scaled alike (or none is kept)."""
    o, x = np.asarray(out, dtype=np.float64), np.asarray(case["x"], dtype=np.float64)
    kept = o != 0
    if not kept.any():
        return None
    ratios = o[kept] / x[kept]
    c = float(np.median(ratios))
    return c if np.allclose(ratios, c, rtol=1e-5, atol=0) else None


def _scales(case: Case) -> tuple[float, float]:
    return 1.0, 1.0 / (1.0 - case["dropout_ratio"])


def _usable(ex: Executor) -> bool:
    return not interface_of(ex, NAME)["problem"]


def train_mode(ex: Executor, case: Case) -> bool:
    if not _usable(ex):
        return False
    where = "Dropout.forward(x, train_flg=True)"
    out = _out(case, run(ex, NAME, case, [_train(case)])[0]["out"], where)
    kept = out != 0
    c = scale_of(case, out)
    book, inverted = _scales(case)
    scale = inverted if c is not None and abs(c - inverted) < abs(c - book) else book
    judge(where, ["out"], [out], [np.where(kept, case["x"] * scale, 0.0)],
          tolerance_for(working_dtype(out)),
          "x where a unit is kept and 0 where it is dropped (the book's x * mask; inverted "
          "dropout's x * mask / (1 - dropout_ratio) is accepted too)")
    return True


def drop_rate(ex: Executor, case: Case) -> bool:
    if not _usable(ex):
        return False
    where = "Dropout.forward(x, train_flg=True)"
    out = _out(case, run(ex, NAME, case, [_train(case)])[0]["out"], where)
    r, n = case["dropout_ratio"], out.size
    dropped = float(np.count_nonzero(out == 0)) / n
    bound = SIGMAS * np.sqrt(r * (1 - r) / n) + 1.0 / n
    if abs(dropped - r) > bound:
        raise CheckFailed(
            "drop-rate",
            f"{where} dropped {dropped:.1%} of {n} units; expected dropout_ratio = {r:.0%} "
            f"(within {bound:.1%}): the book drops a unit where rand > dropout_ratio fails, "
            "i.e. with probability dropout_ratio",
            expected={"dropped share": r}, got={"dropped share": dropped},
            facts=Facts(where=where, value="out"))
    return True


def test_mode(ex: Executor, case: Case) -> bool:
    if not _usable(ex):
        return False
    seeds = [(case["seed"] + k) % 2**31 for k in (1, 2)]
    train, test, again = run(ex, NAME, case, [_train(case), *(
        {"forward": [case["x"]], "flag": False, "seed": s} for s in seeds)])
    where = "Dropout.forward(x, train_flg=False)"
    out = _out(case, test["out"], where)
    second = _out(case, again["out"], where)
    if not np.array_equal(out, second):
        raise CheckFailed(
            "wrong-values", f"{where} returned different outputs on two calls with the same x "
            f"({int((out != second).sum())} of {out.size} elements differ): units are dropped "
            "at random at test time", expected={"out": case["x"] * (1 - case["dropout_ratio"])},
            got={"out": out, "out (second call)": second}, facts=Facts(where=where, value="out"))
    trained = np.asarray(train["out"], dtype=np.float64)
    c = scale_of(case, trained) if trained.shape == out.shape else None
    book, inverted = _scales(case)
    if c is None:  # training kept no unit (or scaled them unalike): either scaling is right
        x = np.asarray(case["x"], dtype=np.float64)
        c = inverted if np.abs(out - x).max() < np.abs(out - x * (1 - case["dropout_ratio"])
                                                         ).max() else book
    if abs(c - inverted) < abs(c - book):
        expected, what = case["x"], ("x itself: training divided the kept units by "
                                     "1 - dropout_ratio (inverted dropout), so test time "
                                     "scales nothing")
    else:
        expected, what = case["x"] * (1.0 - case["dropout_ratio"]), (
            "x * (1 - dropout_ratio): training keeps units unscaled (x * mask), so test time "
            "scales by the share training keeps on average")
    judge(where, ["out"], [out], [expected], tolerance_for(working_dtype(out)), what)
    return True


def backward(ex: Executor, case: Case) -> bool:
    if not _usable(ex):
        return False
    fwd, bwd = run(ex, NAME, case, [_train(case), {"backward": case["dout"]}])
    out = np.asarray(fwd["out"], dtype=np.float64) if fwd["out"] is not None else None
    if out is None or out.shape != np.shape(case["x"]):
        return False  # the train mode check says what is wrong with forward
    where = "Dropout.backward(dout)"
    raw = bwd["grads"]
    if isinstance(raw, (tuple, list)) and len(raw) == 1:
        raw = raw[0]
    if raw is None:
        raise CheckFailed("bad-return", f"{where} returned None; expected dx",
                          facts=Facts(where=where, value="dx", returned_none=True))
    expect_shape(raw, np.shape(case["x"]), "dx", where, "the shape of x")
    finite(raw, "dx", where)
    judge(where, ["dx"], [raw], [case["dout"] * out / case["x"]],
          tolerance_for(working_dtype(raw, fwd["out"])),
          "dout times the mask forward applied, scaled as forward scaled it")
    return True


def hygiene(ex: Executor, case: Case) -> bool:
    if not _usable(ex):
        return False
    fwd, bwd = run(ex, NAME, case, [_train(case), {"backward": case["dout"]}])
    judge_unmodified("Dropout.forward", ["x"], [case["x"]], fwd["inputs_after"], "input")
    judge_unmodified("Dropout.backward", ["dout"], [case["dout"]], [bwd["dout_after"]],
                     "upstream gradient")
    return True


def dropout_checks() -> list[Check]:
    cases = dropout_cases()
    return [
        interface_check(NAME),
        Check("train mode", cases, train_mode, "training keeps or drops each unit, the kept "
              "ones scaled alike", unjudged=INTERFACE),
        Check("drop rate", dropout_cases(big=True), drop_rate,
              "training drops a dropout_ratio share of the units", unjudged=INTERFACE),
        Check("test mode", dropout_cases(units=16), test_mode, "train_flg=False returns what "
              "training returns on average: x * (1 - dropout_ratio) (x for inverted dropout)",
              unjudged=INTERFACE),
        Check("backward", cases, backward, "dx is dout through forward's own mask",
              unjudged=f"{INTERFACE}, or forward is wrong on every example"),
        Check("hygiene", cases, hygiene, "x and dout are left unmodified", unjudged=INTERFACE),
    ]
