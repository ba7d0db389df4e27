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
from typing import Any, TypedDict

import numpy as np

from bpverify.contract import ContractError
from bpverify.families.normalization.contract import NET_TRACED
from bpverify.submission.namespace import LoadedSubmission, call_student
from bpverify.submission.protocol import StudentError
from bpverify.submission.scenarios import copied, plain, traced_calls

__all__ = ["BATCHABLE", "SCENARIOS", "NetConfig", "fc_net_kwargs", "gamma_shape_of"]

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
BATCHABLE: tuple[str, ...] = ("norm_forward",)


# --- FullyConnectedNet -----------------------------------------------------------------------


class NetConfig(TypedDict):
    """How the grader builds a FullyConnectedNet."""

    dims: list[int]  #: [D, H1, ..., C]
    reg: float
    norm: str | None  #: "batchnorm", "layernorm" or None
    keep: float | None  #: the probability of keeping a unit, None: no dropout
    seed: int


def _dropout_kwargs(params: Any, keep: float) -> dict[str, Any] | str:
    """The constructor's dropout keyword for keeping units with probability ``keep``, by
    generation: ``dropout_keep_ratio`` (2021+), ``dropout`` the keep probability (2018-2020,
    whose default 1 turns it off) or the drop probability (2016-2017: default 0, beside
    ``use_batchnorm``)."""
    if "dropout_keep_ratio" in params:
        return {"dropout_keep_ratio": keep}
    if "dropout" in params:
        drops = "use_batchnorm" in params or params["dropout"].default == 0
        return {"dropout": 1.0 - keep if drops else keep}
    return "FullyConnectedNet takes no dropout argument (dropout_keep_ratio, or dropout)"


def fc_net_kwargs(cls: Any, config: NetConfig) -> dict[str, Any] | str:
    """The constructor's keywords for ``config`` in the starter generation ``cls`` was written
    in, or why that net cannot be built: normalization= or use_batchnorm=, dropout's meaning,
    seed and dtype float64 where it takes them."""
    try:
        params: Any = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    dims = config["dims"]
    kw: dict[str, Any] = {"hidden_dims": list(dims[1:-1]), "input_dim": dims[0],
                          "num_classes": dims[-1], "reg": config["reg"], "weight_scale": 1e-2}
    norm = config["norm"]
    if norm is not None:
        if "normalization" in params:
            kw["normalization"] = norm
        elif "use_batchnorm" in params and norm == "batchnorm":
            kw["use_batchnorm"] = True
        else:
            return (f"FullyConnectedNet takes no argument that turns on {norm} (the 2016-2017 "
                    "starters have use_batchnorm only)")
    if config["keep"] is not None:
        drop = _dropout_kwargs(params, config["keep"])
        if isinstance(drop, str):
            return drop
        kw.update(drop)
    if "seed" in params:
        kw["seed"] = config["seed"]
    if "dtype" in params:
        kw["dtype"] = np.float64
    return kw


def _shown(kw: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kw.items() if k != "dtype")


def _make_fc_net(sub: LoadedSubmission, config: NetConfig, params: dict[str, Any]) -> Any:
    """A fresh net built for ``config`` with ``params`` in place of its own, or why none can
    be built (a string)."""
    cls = sub.get("FullyConnectedNet")
    for norm in ("batchnorm", "layernorm"):
        if config["norm"] == norm and f"{norm}_forward" not in sub.names:
            return f"{norm}_forward is not defined, so the net's {norm} is not graded"
    kw = fc_net_kwargs(cls, config)
    if isinstance(kw, str):
        return kw
    net = call_student(f"FullyConnectedNet({_shown(kw)})", cls, **kw)
    own = getattr(net, "params", None)
    if not isinstance(own, dict):
        raise ContractError(f"FullyConnectedNet({_shown(kw)}).params is {type(own).__name__}; "
                            "expected a dict of arrays")
    missing = sorted(set(params) - set(own))
    if missing:
        raise ContractError(f"FullyConnectedNet({_shown(kw)}).params has keys {sorted(own)}; "
                            f"expected also {missing}", where="FullyConnectedNet.params")
    for k, v in params.items():
        dtype = own[k].dtype if isinstance(own[k], np.ndarray) else np.float64
        own[k] = np.array(v, dtype=dtype, copy=True)
    return net


def _set_running(net: Any, running: list[list[Any]]) -> str | None:
    """Store the grader's running averages in the net's bn_params (one dict per layer)."""
    bn = getattr(net, "bn_params", None)
    if not isinstance(bn, list) or len(bn) < len(running) or not all(
            isinstance(d, dict) for d in bn[:len(running)]):
        return ("the net keeps no bn_params list (one dict per batchnorm layer), where its "
                "running averages would be set")
    for d, (mean, var) in zip(bn, running):
        d["running_mean"], d["running_var"] = np.array(mean), np.array(var)
    return None


def fc_net(sub: LoadedSubmission, config: NetConfig, params: dict[str, Any], X: Any,
           y: Any = None, running: list[list[Any]] | None = None) -> dict[str, Any]:
    """A fresh net's ``loss(X, y)`` (train mode: loss, grads), or with ``y`` None its
    ``loss(X)`` (test mode: scores; ``running`` set in its bn_params first), with every layer
    call it makes recorded (``calls``).  ``{"unavailable": why}`` when the net cannot be built
    that way (layer norm in a 2016 starter)."""
    net = _make_fc_net(sub, config, params)
    if isinstance(net, str):
        return {"unavailable": net}
    if running is not None:
        why = _set_running(net, running)
        if why is not None:
            return {"unavailable": why}
    if y is None:
        scores, calls = traced_calls(sub, net, NET_TRACED, lambda: call_student(
            "FullyConnectedNet.loss(X)", net.loss, copied(X)))
        return {"scores": plain(scores), "calls": calls}
    where = "FullyConnectedNet.loss(X, y)"
    value, calls = traced_calls(sub, net, NET_TRACED, lambda: call_student(
        where, net.loss, copied(X), copied(y)))
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ContractError(f"{where} returned {type(value).__name__}; expected a pair (loss, "
                            "grads)", where=where)
    return {"loss": plain(value[0]), "grads": plain(value[1]), "calls": calls}


def fc_net_loss(sub: LoadedSubmission, config: NetConfig, params: dict[str, Any], X: Any,
                y: Any) -> Any:
    """The loss alone, untraced: what the numerical check differentiates."""
    net = _make_fc_net(sub, config, params)
    if isinstance(net, str):
        raise ContractError(net)
    value = call_student("FullyConnectedNet.loss(X, y)", net.loss, copied(X), copied(y))
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ContractError(f"FullyConnectedNet.loss(X, y) returned {type(value).__name__}; "
                            "expected a pair (loss, grads)")
    return plain(value[0])


SCENARIOS.update(fc_net=fc_net, fc_net_loss=fc_net_loss)
BATCHABLE = (*BATCHABLE, "fc_net_loss")
