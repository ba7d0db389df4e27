"""Layer-by-layer blame for a ThreeLayerConvNet whose loss or gradients are wrong.

The net's loss is run again with its layer calls recorded (the ``conv_net_traced`` scenario).
Each call is judged on its own inputs (numpy, float64): convolution (naive or fast), max
pooling, affine, ReLU, softmax_loss; the first wrong call is the guilty one, whatever happened
before it.  When every call is right, the fault is the net's own: a weight left out of the L2
term, ``reg * sum(W**2)`` without its 0.5, or a gradient that is not what its layer's backward
returned.  Facts as the other nets' blame: ``where`` the guilty call, ``value`` what it got
wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bpverify.closeness import close
from bpverify.families.convolution import maths
from bpverify.grading.checks.blame import Blame, as_float, parts

__all__ = ["Blame", "blame_conv_net"]

_f = as_float
_parts = parts

NET = "ThreeLayerConvNet.loss"


def _kind(fn: str) -> str:
    """"conv", "pool", "affine", "relu" or "softmax"."""
    return {"max": "pool", "softmax": "softmax"}.get(fn.split("_")[0], fn.split("_")[0])


def _forward_value(fn: str, args: list[Any]) -> np.ndarray | None:
    kind = _kind(fn)
    if kind == "conv" and len(args) >= 4 and isinstance(args[3], dict):
        return maths.correlate(args[0], args[1], args[2], int(args[3]["stride"]),
                               int(args[3]["pad"]))
    if kind == "pool" and len(args) >= 2 and isinstance(args[1], dict):
        x, (ph, pw, s) = _f(args[0]), maths.pool_dims(args[1])
        out = np.empty((*x.shape[:2], 1 + (x.shape[2] - ph) // s, 1 + (x.shape[3] - pw) // s))
        for i, j, rows, cols in maths.pool_windows(x.shape, args[1]):
            out[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
        return out
    if kind == "affine" and len(args) >= 3:
        x = _f(args[0])
        return x.reshape(x.shape[0], -1) @ _f(args[1]) + _f(args[2])
    if kind == "relu" and args:
        return np.maximum(_f(args[0]), 0.0)
    return None


def _backward_value(fn: str, args: list[Any], dout: np.ndarray
                    ) -> tuple[tuple[str, ...], list[np.ndarray]] | None:
    kind = _kind(fn)
    if kind == "conv" and len(args) >= 4 and isinstance(args[3], dict):
        return ("dx", "dw", "db"), list(maths.correlate_backward(
            args[0], args[1], dout, int(args[3]["stride"]), int(args[3]["pad"])))
    if kind == "pool" and len(args) >= 2 and isinstance(args[1], dict):
        return ("dx",), [maths.route_to_max(args[0], dout, args[1])]
    if kind == "affine" and len(args) >= 3:
        x, w = _f(args[0]), _f(args[1])
        flat = x.reshape(x.shape[0], -1)
        return ("dx", "dw", "db"), [(dout @ w.T).reshape(x.shape), flat.T @ dout,
                                    dout.sum(axis=0)]
    if kind == "relu" and args:
        return ("dx",), [np.where(_f(args[0]) > 0, dout, 0.0)]
    return None


def _softmax(args: list[Any], got: Any) -> Blame | None:
    scores, y = _f(args[0]), np.asarray(args[1], dtype=np.int64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.log(p[np.arange(n), y]).mean())
    p[np.arange(n), y] -= 1.0
    pair = _parts(got, 2)
    if pair is None or not close(pair[0], loss):
        return Blame("softmax_loss", "loss", "softmax_loss: the loss differs from the mean "
                     "cross-entropy")
    if not close(pair[1], p / n):
        return Blame("softmax_loss", "dx", "softmax_loss: dx differs from (softmax - one-hot) "
                     "/ N")
    return None


def _judge(i: int, calls: Sequence[dict[str, Any]]) -> Blame | None:
    c = calls[i]
    fn, got = c["fn"], c.get("out")
    if fn == "softmax_loss":
        args = c.get("args") or []
        return _softmax(args, got) if len(args) >= 2 else None
    if "_forward" in fn:
        out = _forward_value(fn, c.get("args") or [])
        if out is not None and not close(got, out):
            return Blame(fn, "out", f"{fn}: its output is wrong for the inputs the net gave it")
        return None
    j = c.get("forward", -1)
    if not 0 <= j < len(calls) or "dout" not in c:
        return None  # a cache no recorded forward made: cannot judge
    found = _backward_value(fn, calls[j].get("args") or [], _f(c["dout"]))
    if found is None:
        return None
    names, want = found
    parts = _parts(got, len(names))
    if parts is None:
        return Blame(fn, names[0], f"{fn} returned {type(got).__name__}; expected "
                     f"({', '.join(names)})")
    if fn.startswith("max_pool") and not close(parts[0], want[0]):
        # Equal maxima in a window may share dout: only the sums over each window are sure.
        ok = all(close(_f(parts[0])[:, :, r, q].sum(axis=(2, 3)), want[0][:, :, r, q].sum(
            axis=(2, 3))) for _, _, r, q in maths.pool_windows(want[0].shape,
                                                                calls[j]["args"][1]))
        if ok:
            return None
    for name, g, e in zip(names, parts, want):
        if not close(g, e):
            return Blame(fn, name, f"{fn}: {name} is wrong for the inputs and the upstream "
                         "gradient the net gave it")
    return None


def _own(case: dict[str, Any], res: dict[str, Any], calls: Sequence[dict[str, Any]]
         ) -> Blame | None:
    """Every call is right: the L2 term, or a gradient not stored as its backward gave it."""
    reg, p = float(case["reg"]), case["params"]
    grads, loss = res.get("grads"), res.get("loss")
    back = [c for c in calls if c["fn"] in ("conv_backward_naive", "conv_backward_fast")][:1] \
        + [c for c in calls if c["fn"] == "affine_backward"][::-1][:2]
    softmax = next((c for c in calls if c["fn"] == "softmax_loss"), None)
    pair = _parts(softmax.get("out"), 2) if softmax is not None else None
    terms = {k: 0.5 * reg * float(np.sum(_f(p[k]) ** 2)) for k in ("W1", "W2", "W3")}
    unreg = []
    if isinstance(grads, dict) and len(back) == 3:
        for k, c in zip((1, 2, 3), back):
            parts = _parts(c.get("out"), 3)
            if parts is None:
                continue
            local = _f(parts[1])
            if reg and close(grads.get(f"W{k}"), local) and not close(
                    grads.get(f"W{k}"), local + reg * _f(p[f"W{k}"])):
                unreg.append(f"W{k}")
    if pair is not None and loss is not None and reg:
        data, total = float(np.squeeze(pair[0])), sum(terms.values())
        if not close(loss, data + total):
            left = [k for k, t in terms.items() if close(loss, data + total - t)]
            left = [k for k in left if k in unreg] or left
            if left:
                return Blame(NET, f"{left[0]} regularization", f"{' or '.join(left)} is not "
                             f"regularized: the loss leaves out 0.5*reg*sum({left[0]}**2)")
            if close(loss, data + 2 * total):
                return Blame(NET, "regularization factor", f"{NET} adds reg*sum(W**2); the "
                             "term is 0.5*reg*sum(W**2)")
    if unreg:
        return Blame(NET, f"{unreg[0]} regularization", f"{unreg[0]} is not regularized: "
                     f"grads['{unreg[0]}'] misses reg*{unreg[0]}")
    return None


def blame_conv_net(case: dict[str, Any], res: dict[str, Any]) -> Blame | None:
    """The first layer call wrong on its own inputs, else the net's own fault, else None."""
    calls = list(res.get("calls") or [])
    for i in range(len(calls)):
        try:
            found = _judge(i, calls)
        except (ValueError, TypeError, IndexError, KeyError):
            found = None  # a call of a shape the replay cannot judge: skip it
        if found is not None:
            return found
    try:
        return _own(case, res, calls)
    except (ValueError, TypeError, IndexError, KeyError):
        return None
