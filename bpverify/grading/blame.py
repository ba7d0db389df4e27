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

from bpverify.grading import oracles
from bpverify.grading.compare import compare_values, tolerance_for, working_dtype

__all__ = ["Blame", "blame_net"]


@dataclass(frozen=True)
class Blame:
    """Who is guilty, in one sentence, and which call (or key) it is."""

    culprit: str  #: e.g. "affine_backward" or "TwoLayerNet.loss"
    where: str  #: e.g. "layer 2: db"
    message: str


def _same(got: Any, expected: Any) -> bool:
    try:
        g = np.asarray(got, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if g.shape != e.shape:
        return False
    return compare_values("v", g, e, tolerance_for(working_dtype(got)))[1] == 0


def _as_tuple(value: Any, n: int) -> tuple[Any, ...] | None:
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(value)
    return (value,) if n == 1 and not isinstance(value, (tuple, list)) else None


def _layer_calls(calls: list[dict[str, Any]]) -> dict[int, int]:
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


def _first_wrong_call(calls: list[dict[str, Any]], layer_of: dict[int, int]) -> Blame | None:
    for i, c in enumerate(calls):
        fn, layer = c["fn"], layer_of.get(i)
        at = f"layer {layer}" if layer else "its call"
        got = c.get("out")
        if fn == "affine_forward":
            x, w, b = c["args"][:3]
            expected = oracles.affine(x, w, b, np.zeros((np.shape(x)[0], np.shape(w)[1])))[0]
            if not _same(got, expected):
                return Blame(fn, at, f"{fn}, {at}: its output differs from x.reshape(N, D) @ w "
                             "+ b on the very inputs the net gave it")
        elif fn == "relu_forward":
            expected = np.maximum(np.asarray(c["args"][0], dtype=np.float64), 0.0)
            if not _same(got, expected):
                return Blame(fn, at, f"{fn}, {at}: its output differs from max(0, x)")
        elif fn == "softmax_loss":
            scores, y = c["args"][:2]
            value, dscores = oracles.loss("softmax_loss", scores, np.asarray(y, dtype=np.int64))
            pair = _as_tuple(got, 2)
            if pair is None or not _same(pair[0], value):
                return Blame(fn, "loss", f"{fn}: the loss differs from the mean cross-entropy")
            if not _same(pair[1], dscores):
                return Blame(fn, "dscores", f"{fn}: dscores differs from (softmax - one-hot)/N")
        elif fn in ("affine_backward", "relu_backward"):
            j = c.get("forward", -1)
            if j < 0:
                continue  # the cache did not come from a traced forward: cannot judge
            fwd = calls[j]["args"]
            if fn == "affine_backward":
                x, w, b = fwd[:3]
                _, grads = oracles.affine(x, w, b, c["dout"])
                names: tuple[str, ...] = ("dx", "dw", "db")
                parts = _as_tuple(got, 3)
            else:
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


def _wiring(calls: list[dict[str, Any]], layer_of: dict[int, int], res: dict[str, Any],
            case: dict[str, Any], net: str, layers: int) -> Blame | None:
    """Every call is right on its own inputs: find what was passed where."""
    by_kind: dict[tuple[str, int], dict[str, Any]] = {}
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
        if not _same(call["dout"], expected):
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


def _loss_term(res: dict[str, Any], case: dict[str, Any], net: str,
               softmax: dict[str, Any] | None, layers: int) -> Blame | None:
    if softmax is None or not _as_tuple(softmax.get("out"), 2):
        return None
    data = float(np.squeeze(softmax["out"][0]))
    l2 = sum(float(np.sum(case["params"][f"W{k}"] ** 2)) for k in range(1, layers + 1))
    reg = float(case["reg"])
    want = data + 0.5 * reg * l2
    got = res.get("loss")
    if got is None or _same(got, want):
        return None
    if reg and _same(got, data):
        return Blame(f"{net}.loss", "loss", f"{net}.loss leaves out the regularization term "
                     "0.5*reg*sum(W**2) of the loss")
    if reg and _same(got, data + reg * l2):
        return Blame(f"{net}.loss", "loss", f"{net}.loss adds reg*sum(W**2); the term is "
                     "0.5*reg*sum(W**2)")
    return Blame(f"{net}.loss", "loss", f"{net}.loss returns a loss other than softmax_loss's "
                 "plus 0.5*reg*sum(W**2)")


def blame_net(net: str, layers: int, case: dict[str, Any], res: dict[str, Any]) -> Blame | None:
    """The first guilty layer call, else the wiring fault, of a traced ``loss(X, y)``."""
    calls = res.get("calls") or []
    if not calls:
        return Blame(f"{net}.loss", "layers", f"{net}.loss calls none of affine_forward, "
                     "relu_forward, softmax_loss, affine_backward, relu_backward, so it cannot "
                     "be replayed layer by layer")
    layer_of = _layer_calls(calls)
    softmax = next((c for c in calls if c["fn"] == "softmax_loss"), None)
    return (
        _first_wrong_call(calls, layer_of)
        or _loss_term(res, case, net, softmax, layers)
        or _wiring(calls, layer_of, res, case, net, layers)
    )
