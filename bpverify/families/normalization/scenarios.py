"""Calling the submission's normalization layers (worker side: numpy only).

A forward gets a fresh copy of its param dict on every call, so that the running averages it
stores back (in place or as new arrays) are read from that dict after the call.  Spatial group
norm's gamma and beta had two shapes across the starters, ``(C,)`` (2018) and ``(1, C, 1, 1)``
(later): the grader sends ``(C,)`` and the scenario hands the submission the shape its own
docstring names (``(1, C, 1, 1)`` when it names none), saying which in its reply.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.scenarios import copied, plain

__all__ = ["BATCHABLE", "SCENARIOS", "gamma_shape_of"]

_SHAPE = re.compile(r"gamma\b[^\n]*?shape\s*\(([^)]*)\)", re.IGNORECASE)


def gamma_shape_of(fn: Any, c: int) -> tuple[int, ...]:
    """The shape of gamma that ``fn``'s docstring names for C channels: (C,) or (1, C, 1, 1)."""
    doc = inspect.getdoc(fn) or ""
    found = _SHAPE.search(doc)
    if found and found.group(1).replace(" ", "").strip(",").upper() == "C":
        return (c,)
    return (1, c, 1, 1)


def _pair(value: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        n = f" of {len(value)}" if isinstance(value, (tuple, list)) else ""
        raise ContractError(f"{where} returned {type(value).__name__}{n}; expected a pair "
                            "(out, cache)", where=where,
                            returned_none=value is None,
                            returned_count=len(value) if isinstance(value, (tuple, list))
                            else None, expected_count=2)
    return value[0], value[1]


def _inputs(sub: LoadedSubmission, forward: str, inputs: list[Any]) -> list[Any]:
    """x, gamma, beta as the submission takes them (gamma and beta reshaped for group norm)."""
    ins = [copied(v) for v in inputs]
    if forward == "spatial_groupnorm_forward":
        shape = gamma_shape_of(sub.get(forward), int(np.shape(ins[1])[0]))
        ins[1], ins[2] = np.reshape(ins[1], shape), np.reshape(ins[2], shape)
    return ins


def _forward(sub: LoadedSubmission, forward: str, ins: list[Any], extra: list[Any],
             param: dict[str, Any]) -> tuple[Any, Any]:
    name = f"{forward}(x, gamma, beta{', G' if extra else ''}, param)"
    return _pair(call_student(forward, sub.get(forward), *ins, *extra, param), name)


def _fresh(param: dict[str, Any]) -> dict[str, Any]:
    return {k: copied(v) for k, v in param.items()}


def _running(param: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(param.get(k)) for k in ("running_mean", "running_var") if k in param}


def norm_layer(sub: LoadedSubmission, forward: str, backward: str | None, inputs: list[Any],
               extra: list[Any], param: dict[str, Any], dout: Any) -> dict[str, Any]:
    """One forward (and one backward on its cache); the param dict as the forward left it."""
    ins = _inputs(sub, forward, inputs)
    own = _fresh(param)
    out, cache = _forward(sub, forward, ins, extra, own)
    reply: dict[str, Any] = {"out": plain(out), "inputs_after_forward": plain(ins),
                             "param_after": _running(own), "gamma_shape": list(np.shape(ins[1]))}
    if backward is not None:
        d = copied(dout)
        reply["grads"] = plain(call_student(backward, sub.get(backward), d, cache))
        reply["dout_after"] = plain(d)
    reply["inputs_after"] = plain(ins)
    return reply


def norm_forward(sub: LoadedSubmission, forward: str, inputs: list[Any], extra: list[Any],
                 param: dict[str, Any]) -> Any:
    """The forward's output alone (the numerical check's function)."""
    out, _ = _forward(sub, forward, _inputs(sub, forward, inputs), extra, _fresh(param))
    return plain(out)


SCENARIOS: dict[str, Callable[..., Any]] = {"norm_layer": norm_layer,
                                            "norm_forward": norm_forward}
BATCHABLE = ("norm_forward",)
