"""Layer-by-layer blame for a net whose loss or gradients are wrong.

The net is replayed with its own layer functions traced (the ``net_traced`` scenario).  Each
recorded call is compared with the oracle *on that call's own inputs*, so the first wrong call
is the guilty one, whatever happened before it.  When every call is right, the fault is in the
wiring between them: a gradient passed to the wrong call, a grads key, or the L2 term.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpverify.closeness import close, tolerance_for, working_dtype
from bpverify.grading import oracles
from bpverify.submission.replies import NetTracedReply, TracedCall

__all__ = ["Blame", "blame_net", "regularization_cause", "scores_cause"]


@dataclass(frozen=True)
class Blame:
    """Who is guilty, in one sentence, and which call (or key) it is."""

    culprit: str  #: e.g. "affine_backward" or "TwoLayerNet.loss"
    where: str  #: e.g. "layer 2: db"
    message: str


def _same(got: Any, expected: Any, dtype: np.dtype[Any] | None = None) -> bool:
    """The closeness rule, in the precision the call (or, given ``dtype``, the net) computed in."""
    if dtype is None:
        return close(got, expected)
    return close(got, expected, tolerance_for(working_dtype(got, np.empty(0, dtype))))


def _args(c: TracedCall, n: int) -> list[Any] | None:
    """The first ``n`` arguments of a traced call, or None when it was called otherwise."""
    args = c.get("args")
    return list(args[:n]) if isinstance(args, list) and len(args) >= n else None


def _as_tuple(value: Any, n: int) -> tuple[Any, ...] | None:
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(value)
    return (value,) if n == 1 and not isinstance(value, (tuple, list)) else None


def _layer_calls(calls: list[TracedCall]) -> dict[int, int]:
    """Call index -> layer number (the k-th affine_forward is layer k; relu k follows it)."""
    layer_of: dict[int, int] = {}
    affine = relu = 0
    for i, c in enumerate(calls):
        if c["fn"] == "affine_forward":
            affine += 1
            layer_of[i] = affine
        elif c["fn"] == "relu_forward":
            relu += 1
            layer_of[i] = relu
    for i, c in enumerate(calls):
        if c["fn"].endswith("_backward") and c.get("forward", -1) in layer_of:
            layer_of[i] = layer_of[c["forward"]]
    return layer_of


def _first_wrong_call(calls: list[TracedCall], layer_of: dict[int, int]) -> Blame | None:
    for i, c in enumerate(calls):
        layer = layer_of.get(i)
        try:
            found = _judge_call(c, calls, f"layer {layer}" if layer else "its call")
        except (ValueError, TypeError, IndexError, KeyError):
            found = None  # a call of a shape the replay cannot judge (odd arguments): skip it
        if found is not None:
            return found
    return None


def _judge_call(c: TracedCall, calls: list[TracedCall], at: str) -> Blame | None:
    """Blame for one traced call judged on its own inputs, or None when it is right."""
    fn, got = c["fn"], c.get("out")
    if fn == "affine_forward":
        args = _args(c, 3)
        if args is None:
            return None
        x, w, b = args
        expected = oracles.affine(x, w, b, np.zeros((np.shape(x)[0], np.shape(w)[1])))[0]
        if not _same(got, expected):
            return Blame(fn, at, f"{fn}, {at}: its output differs from x.reshape(N, D) @ w "
                         "+ b on the very inputs the net gave it")
    elif fn == "relu_forward":
        args = _args(c, 1)
        if args is None:
            return None
        expected = np.maximum(np.asarray(args[0], dtype=np.float64), 0.0)
        if not _same(got, expected):
            return Blame(fn, at, f"{fn}, {at}: its output differs from max(0, x)")
    elif fn == "softmax_loss":
        args = _args(c, 2)
        if args is None:
            return None
        scores, y = args
        value, dscores = oracles.loss("softmax_loss", scores, np.asarray(y, dtype=np.int64))
        pair = _as_tuple(got, 2)
        if pair is None or not _same(pair[0], value):
            return Blame(fn, "loss", f"{fn}: the loss differs from the mean cross-entropy")
        if not _same(pair[1], dscores):
            return Blame(fn, "dscores", f"{fn}: dscores differs from (softmax - one-hot)/N")
    elif fn in ("affine_backward", "relu_backward"):
        j = c.get("forward", -1)
        if j < 0 or "dout" not in c or j >= len(calls):
            return None  # the cache did not come from a traced forward: cannot judge
        if fn == "affine_backward":
            fwd = _args(calls[j], 3)
            if fwd is None:
                return None
            x, w, b = fwd
            _, grads = oracles.affine(x, w, b, c["dout"])
            names: tuple[str, ...] = ("dx", "dw", "db")
            parts = _as_tuple(got, 3)
        else:
            fwd = _args(calls[j], 1)
            if fwd is None:
                return None
            x = np.asarray(fwd[0], dtype=np.float64)
            dout = np.asarray(c["dout"], dtype=np.float64)
            _, grads = oracles.relu(x, dout)
            parts = _as_tuple(got, 1)
            if parts is not None and np.shape(parts[0]) == x.shape:
                lo, hi = np.minimum(0.0, dout), np.maximum(0.0, dout)
                grads = [np.where(x == 0, np.clip(parts[0], lo, hi), grads[0])]
            names = ("dx",)
        if parts is None:
            return Blame(fn, at, f"{fn}, {at}: returned {type(got).__name__}, expected "
                         f"({', '.join(names)})")
        for name, g, e in zip(names, parts, grads):
            if not _same(g, e):
                return Blame(fn, f"{at}: {name}",
                             f"{fn}, {at}: {name} is wrong for the inputs and upstream "
                             "gradient the net gave it")
    return None


def _wiring(calls: list[TracedCall], layer_of: dict[int, int], res: NetTracedReply,
            case: dict[str, Any], net: str, layers: int) -> Blame | None:
    """Every call is right on its own inputs: find what was passed where."""
    by_kind: dict[tuple[str, int], TracedCall] = {}
    for i, c in enumerate(calls):
        if i in layer_of:
            by_kind.setdefault((c["fn"], layer_of[i]), c)
    softmax = next((c for c in calls if c["fn"] == "softmax_loss"), None)
    # The upstream gradient each backward call should have received.
    sources: list[tuple[tuple[str, int], Any, str]] = []
    if softmax is not None and _as_tuple(softmax.get("out"), 2):
        sources.append((("affine_backward", layers), softmax["out"][1], "dscores of softmax_loss"))
    for k in range(1, layers):
        up = by_kind.get(("affine_backward", k + 1))
        if up is not None and _as_tuple(up.get("out"), 3):
            sources.append((("relu_backward", k), up["out"][0],
                            f"dx of affine_backward, layer {k + 1}"))
        relu = by_kind.get(("relu_backward", k))
        if relu is not None:
            sources.append((("affine_backward", k), relu.get("out"),
                            f"the output of relu_backward, layer {k}"))
    for (fn, k), expected, what in sources:
        call = by_kind.get((fn, k))
        if call is None:
            if fn == "relu_backward":
                return Blame(f"{net}.loss", f"layer {k}",
                             f"{net}.loss never calls relu_backward for layer {k}: the gradient "
                             "skips the ReLU, whose backward must zero it where x <= 0")
            continue
        if "dout" in call and not _same(call["dout"], expected):
            return Blame(f"{net}.loss", f"{fn}, layer {k}",
                         f"{net}.loss passes the wrong upstream gradient to {fn}, layer {k}: "
                         f"expected {what}")
    reg = float(case["reg"])
    grads = res.get("grads")
    if not isinstance(grads, dict):
        return None
    for k in range(1, layers + 1):
        call = by_kind.get(("affine_backward", k))
        if call is None or not _as_tuple(call.get("out"), 3):
            continue
        _, dw, db = call["out"]
        W = case["params"][f"W{k}"]
        if np.shape(dw) != np.shape(W):
            continue
        for key, want, local in ((f"W{k}", np.asarray(dw) + reg * W, dw), (f"b{k}", db, db)):
            got = grads.get(key)
            if got is None or _same(got, want):
                continue
            if reg and key.startswith("W"):
                if _same(got, local):
                    return Blame(f"{net}.loss", f"grads['{key}']",
                                 f"grads['{key}'] misses the regularization gradient reg*{key} "
                                 "(the derivative of 0.5*reg*sum(W**2))")
                for factor in (2.0, 0.5):
                    if _same(got, np.asarray(local) + factor * reg * W):
                        return Blame(f"{net}.loss", f"grads['{key}']",
                                     f"grads['{key}'] adds {factor:g}*reg*{key}; the derivative "
                                     f"of 0.5*reg*sum(W**2) is reg*{key}")
            other = [o for o in grads if o != key and _same(grads[o], want)]
            return Blame(f"{net}.loss", f"grads['{key}']",
                         f"grads['{key}'] is wrong although affine_backward, layer {k} is right"
                         + (f"; it holds what belongs in grads['{other[0]}']" if other else ""))
    return None


def _loss_term(res: NetTracedReply, case: dict[str, Any], net: str,
               softmax: TracedCall | None, layers: int,
               dtype: np.dtype[Any] | None = None) -> Blame | None:
    if softmax is None or not _as_tuple(softmax.get("out"), 2):
        return None
    data = float(np.squeeze(softmax["out"][0]))
    l2 = sum(float(np.sum(case["params"][f"W{k}"] ** 2)) for k in range(1, layers + 1))
    reg = float(case["reg"])
    want = data + 0.5 * reg * l2
    got = res.get("loss")
    if got is None or _same(got, want, dtype):
        return None
    if reg and _same(got, data, dtype):
        return Blame(f"{net}.loss", "loss", f"{net}.loss leaves out the regularization term "
                     "0.5*reg*sum(W**2) of the loss")
    if reg and _same(got, data + reg * l2, dtype):
        return Blame(f"{net}.loss", "loss", f"{net}.loss adds reg*sum(W**2); the term is "
                     "0.5*reg*sum(W**2)")
    return Blame(f"{net}.loss", "loss", f"{net}.loss returns a loss other than softmax_loss's "
                 "plus 0.5*reg*sum(W**2)")


def _rectified_scores(calls: list[TracedCall], net: str) -> Blame | None:
    """The last affine layer's output went through relu_forward."""
    affine = [i for i, c in enumerate(calls) if c["fn"] == "affine_forward"]
    if not affine:
        return None
    last = calls[affine[-1]]
    for c in calls[affine[-1] + 1:]:
        args = _args(c, 1)
        if c["fn"] == "relu_forward" and args is not None and _same(args[0], last.get("out")):
            return Blame(f"{net}.loss", "scores", f"{net}.loss passes the scores through "
                         "relu_forward: the last affine layer's output must not be rectified")
    return None


def scores_cause(got: Any, expected: Any) -> str | None:
    """What is wrong with a net's scores, when it is a known mistake."""
    e = np.asarray(expected, dtype=np.float64)
    if (e < 0).any() and _same(got, np.maximum(e, 0.0)):
        return ("the scores went through a ReLU: the last affine layer's output must not be "
                "rectified")
    return None


def _l2_cause(key: str, got: Any, data: Any, W: np.ndarray, reg: float,
              dtype: np.dtype[Any]) -> str | None:
    """How grads[key] adds the regularization gradient, when it is a known mistake."""
    patterns = (
        (data, f"grads['{key}'] misses the regularization gradient reg*{key} (the derivative "
               "of 0.5*reg*sum(W**2))"),
        (data + reg * np.sum(W), f"grads['{key}'] adds reg*np.sum({key}), a scalar added to "
                                  f"every element; the gradient of 0.5*reg*sum({key}**2) is "
                                  f"reg*{key}"),
        (data + reg + W, f"grads['{key}'] adds reg + {key}: `+` typed for `*` (the gradient "
                         f"is reg*{key})"),
        (data + 2.0 * reg * W, f"grads['{key}'] adds 2*reg*{key}; the derivative of "
                               f"0.5*reg*sum(W**2) is reg*{key}"),
        (data + 0.5 * reg * W, f"grads['{key}'] adds 0.5*reg*{key}; the derivative of "
                               f"0.5*reg*sum(W**2) is reg*{key}"),
    )
    for want, why in patterns:
        if _same(got, want, dtype):
            return why
    return None


def regularization_cause(net: str, layers: int, case: dict[str, Any], loss: Any,
                         grads: Any, dtype: np.dtype[Any]) -> Blame | None:
    """A known mistake in the L2 term or its gradient, judged from the net's outputs alone.

    The data part (reg = 0) comes from the oracle, so this needs no trace: it also names the
    mistake of a net written without layer functions (the older neural_net.py).
    """
    reg = float(case["reg"])
    params = {k: np.asarray(v, dtype=np.float64) for k, v in case["params"].items()}
    rounded = {k: v.astype(dtype).astype(np.float64) for k, v in params.items()}
    X = np.asarray(case["X"]).astype(dtype).astype(np.float64)
    _, data, data_grads = oracles.net(rounded, X, case["y"], 0.0, layers)
    weights = [f"W{k}" for k in range(1, layers + 1)]
    terms = {k: 0.5 * reg * float(np.sum(rounded[k] ** 2)) for k in weights}
    total = sum(terms.values())
    # Loss: which weights' terms it holds.
    if reg and loss is not None and not _same(loss, data + total, dtype):
        if _same(loss, data, dtype):
            return Blame(f"{net}.loss", "loss", f"{net}.loss leaves out the regularization "
                         "term 0.5*reg*sum(W**2) of the loss")
        if _same(loss, data + 2 * total, dtype):
            return Blame(f"{net}.loss", "loss", f"{net}.loss adds reg*sum(W**2); the term is "
                         "0.5*reg*sum(W**2)")
        for k in weights:
            if len(weights) > 1 and _same(loss, data + total - terms[k], dtype):
                grad = grads.get(k) if isinstance(grads, dict) else None
                also = (f" and grads['{k}'] leaves out reg*{k}"
                        if grad is not None and _same(grad, data_grads[k], dtype) else "")
                return Blame(f"{net}.loss", "loss", f"{k} is not regularized: the loss leaves "
                             f"out 0.5*reg*sum({k}**2){also}")
    if not isinstance(grads, dict):
        return None
    for k in weights:
        got = grads.get(k)
        if got is None or np.shape(got) != np.shape(params[k]):
            continue
        want = data_grads[k] + reg * rounded[k]
        if _same(got, want, dtype):
            continue
        why = _l2_cause(k, got, data_grads[k], rounded[k], reg, dtype)
        if why is not None:
            return Blame(f"{net}.loss", f"grads['{k}']", why)
    return None


def net_dtype(res: NetTracedReply) -> np.dtype[Any]:
    """The precision a net computed in: the lowest among its gradients and layer outputs."""
    grads = res.get("grads")
    values = list(grads.values()) if isinstance(grads, dict) else []
    values += [c.get("out") for c in res.get("calls") or [] if c.get("fn", "").endswith(
        "_forward")]
    try:
        return working_dtype(*values)
    except (TypeError, ValueError):
        return np.dtype(np.float64)


def blame_net(net: str, layers: int, case: dict[str, Any], res: NetTracedReply) -> Blame | None:
    """The first guilty layer call, else the known L2 mistake, else the wiring fault."""
    calls = res.get("calls") or []
    dtype = net_dtype(res)
    layer_of = _layer_calls(calls)
    found = _first_wrong_call(calls, layer_of) or _rectified_scores(calls, net)
    if found is None:
        try:
            found = regularization_cause(net, layers, case, res.get("loss"), res.get("grads"),
                                         dtype)
        except (ValueError, TypeError, KeyError, IndexError):
            found = None
    if found is not None:
        return found
    if not calls:
        return Blame(f"{net}.loss", "layers", f"{net}.loss calls none of affine_forward, "
                     "relu_forward, softmax_loss, affine_backward, relu_backward, so it cannot "
                     "be replayed layer by layer")
    softmax = next((c for c in calls if c["fn"] == "softmax_loss"), None)
    try:
        return (_loss_term(res, case, net, softmax, layers, dtype)
                or _wiring(calls, layer_of, res, case, net, layers))
    except (ValueError, TypeError, KeyError, IndexError):
        return None  # calls the replay cannot line up (an unusual net): no blame, no crash
