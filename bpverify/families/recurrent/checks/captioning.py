"""The checks of ``CaptioningRNN``: its loss and gradients, with layer-by-layer blame.

The grader builds the net with ``dtype=np.float64`` (as the course's gradient check does),
overwrites its ``params`` with its own values, and calls ``loss(features, captions)``.  A
wrong loss or gradient is replayed with the layer functions traced (:mod:`.blame`): the
failure then names the first call that is wrong on its own inputs, or the wiring between them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import assume

from bpverify.closeness import tolerance_for, working_dtype
from bpverify.contract import ContractError, check_numeric
from bpverify.families.recurrent.checks import oracle
from bpverify.families.recurrent.checks.blame import blame_captioning
from bpverify.families.recurrent.checks.cases import captioning_cases
from bpverify.families.recurrent.checks.layers import NUMERICAL_BUDGET
from bpverify.families.recurrent.contract import CAPTIONING, CAPTIONING_PARAMS
from bpverify.families.recurrent.scenarios import CaptioningReply
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    ScenarioForward,
    expect_finite,
    expect_shape,
    expect_written,
    judge,
    judge_numerically,
    nearby,
    rounded,
)
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError

__all__ = ["captioning_checks"]

WHERE = f"{CAPTIONING}.loss(features, captions)"
KEYS = list(CAPTIONING_PARAMS)


def _call(ex: Executor, case: Case, traced: bool = False) -> CaptioningReply:
    reply: CaptioningReply = ex.call(
        "captioning", cell_type=case["cell_type"], dims=case["dims"], params=case["params"],
        features=case["features"], captions=case["captions"], traced=traced)
    # An LSTM net in a folder that has not written lstm_forward (extra credit from 2021 on):
    # its layers' own items say so; the net is judged on its RNN examples.
    assume("unwritten" not in reply)
    return reply


def _expected(case: Case, dtype: np.dtype[Any]) -> tuple[float, dict[str, Any]]:
    params = {k: rounded(v, dtype) for k, v in case["params"].items()}
    return oracle.captioning(case["cell_type"], params, rounded(case["features"], dtype),
                             case["captions"])


def _judge_loss(case: Case, res: CaptioningReply) -> None:
    value = res["loss"]
    expect_written(WHERE, value, res.get("grads"))
    check_numeric(value, f"{WHERE} (loss)")
    expect_finite(value, "loss", WHERE)
    dtype = working_dtype(value)
    judge(WHERE, ["loss"], [np.squeeze(value)], [_expected(case, dtype)[0]],
          tolerance_for(dtype), "the temporal softmax loss of the captions")


def _judge_grads(case: Case, res: CaptioningReply) -> None:
    grads = res["grads"]
    expect_written(WHERE, res.get("loss"), grads)
    if not isinstance(grads, dict):
        raise CheckFailed("bad-return", f"{WHERE} returned grads of type "
                          f"{type(grads).__name__}; expected a dict with the keys of params")
    missing = [k for k in KEYS if k not in grads]
    if missing:
        raise CheckFailed("bad-return", f"{WHERE} returned grads without {missing}; expected "
                          "one gradient per parameter, under the keys of params",
                          facts=Facts(where=WHERE, value="grads", missing_keys=tuple(missing)))
    for k in KEYS:
        expect_shape(grads[k], np.shape(case["params"][k]), k, WHERE, f"the shape of {k}")
        expect_finite(grads[k], k, WHERE)
    dtype = working_dtype(*(grads[k] for k in KEYS))
    exp = _expected(case, dtype)[1]
    judge(WHERE, KEYS, [grads[k] for k in KEYS], [exp[k] for k in KEYS], tolerance_for(dtype),
          "jax.grad of the loss")


def _with_blame(ex: Executor, case: Case, judging: Any) -> None:
    """Judge; on a failure, replay the net's loss traced and name the guilty call."""
    try:
        judging()
    except CheckFailed as exc:
        try:
            found = blame_captioning(case, dict(_call(ex, case, traced=True)))
        except (StudentError, ContractError):
            found = None
        if found is None:
            raise
        raise exc.amended(message=f"{exc.message}. Guilty: {found.message}.",
                          facts=replace(exc.facts, where=found.culprit,
                                        value=found.value)) from None


def _loss(ex: Executor, case: Case) -> None:
    res = _call(ex, case)
    _with_blame(ex, case, lambda: _judge_loss(case, res))


def _gradients(ex: Executor, case: Case) -> None:
    res = _call(ex, case)
    _with_blame(ex, case, lambda: _judge_grads(case, res))


def _numerical(ex: Executor, case: Case) -> bool:
    res = _call(ex, case)

    def claimed() -> list[Any]:
        _judge_loss(case, res)
        grads = res["grads"]
        for k in KEYS:
            expect_shape(grads[k], np.shape(case["params"][k]), k, CAPTIONING, "")
        moved = {**case, "params": nearby(case["params"], KEYS)}
        _judge_loss(moved, _call(ex, moved))
        return [grads[k] for k in KEYS]

    f = ScenarioForward(ex, "captioning_loss", lambda *vals: {
        "cell_type": case["cell_type"], "dims": case["dims"],
        "params": dict(zip(KEYS, vals)), "features": case["features"],
        "captions": case["captions"]}, lambda value: value)
    return judge_numerically(WHERE, KEYS, case, claimed=claimed, f=f,
                             args=[case["params"][k] for k in KEYS],
                             untrusted=(KeyError, TypeError), max_evaluations=NUMERICAL_BUDGET)


def captioning_checks() -> list[Check]:
    cases = captioning_cases()
    return [
        Check("loss", cases, _loss, "the loss matches the JAX oracle"),
        Check("gradients", cases, _gradients, "grads match jax.grad"),
        Check("numerical", cases, _numerical,
              "grads match centred differences of your own loss",
              unjudged="this check differentiates your own loss, which is wrong on every "
              "example (see the loss check)"),
    ]
