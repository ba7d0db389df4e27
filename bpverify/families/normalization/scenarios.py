"""Calling the submission's normalization layers (worker side: numpy only).

A forward gets a fresh copy of its param dict on every call, so that the running averages it
stores back (in place or as new arrays) are read from that dict after the call.  Spatial group
norm's gamma and beta had two shapes across the starters' docstrings, ``(C,)`` (2018-2020) and
``(1, C, 1, 1)`` (later), while every starter's notebook checks with ``(1, C, 1, 1)``: the grader
sends ``(C,)`` and the scenario hands the submission ``(1, C, 1, 1)``, or ``(C,)`` when its own
docstring names ``(C,)`` and, on a probe, its forward fails with the notebook's shape and works
with the docstring's.  Its reply says which shape it used, and the docstring's: dgamma and
dbeta may come back in either.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.protocol import StudentError
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


#: The gamma shape each group-norm forward works with ("C" or "1C11"), probed once per function.
_PROBED: dict[int, str] = {}


def _works_with(fn: Any, shape: str) -> bool:
    """Whether ``fn`` returns an output of x's shape on a probe with gamma of ``shape``."""
    x = np.random.default_rng(0).normal(size=(2, 4, 3, 5))
    g = np.ones(4) if shape == "C" else np.ones((1, 4, 1, 1))
    try:
        out = call_student("spatial_groupnorm_forward", fn, x, g, np.zeros_like(g), 2,
                           {"eps": 1e-5})
        return bool(np.shape(out[0]) == x.shape)
    except (StudentError, TypeError, IndexError, KeyError):  # out is not a pair of arrays
        return False


def _group_gamma_shape(fn: Any, c: int) -> tuple[int, ...]:
    """The notebook's (1, C, 1, 1); (C,) when the docstring names it and only (C,) works."""
    if id(fn) not in _PROBED:
        docstring_c = gamma_shape_of(fn, c) == (c,)
        _PROBED[id(fn)] = ("C" if docstring_c and not _works_with(fn, "1C11")
                           and _works_with(fn, "C") else "1C11")
    return (c,) if _PROBED[id(fn)] == "C" else (1, c, 1, 1)


def _inputs(sub: LoadedSubmission, forward: str, inputs: list[Any]) -> list[Any]:
    """x, gamma, beta as the submission takes them (gamma and beta reshaped for group norm)."""
    ins = [copied(v) for v in inputs]
    if forward == "spatial_groupnorm_forward":
        shape = _group_gamma_shape(sub.get(forward), int(np.shape(ins[1])[0]))
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
    if forward == "spatial_groupnorm_forward":  # the docstring's shape, which dgamma may take too
        reply["gamma_named"] = list(gamma_shape_of(sub.get(forward), int(np.size(ins[1]))))
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
