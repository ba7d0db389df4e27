"""Layer-by-layer blame for a FullyConnectedNet whose loss, gradients or scores are wrong.

Every layer call the net made was recorded (the ``fc_net`` scenario).  Each is judged on its
own inputs (numpy, float64), so the first wrong call is the guilty one, whatever happened
before it: affine, ReLU, batch or layer norm, dropout, softmax_loss.  When every call is right,
the fault is in the net itself: the mode it set (a train-mode call at test time), the L2 term
(a weight left out, gamma and beta regularized) or a gradient that does not reach its key.

A :class:`~bpverify.grading.checks.blame.Blame` names the guilty call and the value it got
wrong; the net's own faults have the values "W3 regularization" (W3 left out of the L2 term),
"gamma regularization" (gamma and beta put in it), "regularization" (no L2 term),
"regularization factor" (reg*sum(W**2)), "dropout_param['mode']" / "bn_param['mode']" (the
wrong mode), "relu_backward skipped" (a layer's backward never called), "dout of
affine_backward" (another upstream gradient than the next call's dx) and "grads['W1']".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bpverify.closeness import close
from bpverify.families.normalization.checks.netoracle import EPS, LAYERS
from bpverify.grading.checks.blame import Blame, as_float, parts

__all__ = ["NET", "Blame", "blame_fc_net"]

_f = as_float
_parts = parts

#: The culprit when every layer call is right: the net's own loss.
NET = "FullyConnectedNet.loss"


def _eps(param: Any) -> float:
    eps = param.get("eps") if isinstance(param, dict) else None
    return float(eps) if isinstance(eps, (int, float, np.ndarray)) else EPS


def _norm_forward(fn: str, args: list[Any], mode: str) -> tuple[np.ndarray, ...] | None:
    """(out, x_hat, 1/sqrt(var + eps)) of a norm forward, or None when it cannot be replayed."""
    x, gamma, beta = (_f(a) for a in args[:3])
    param = args[3] if len(args) > 3 else {}
    if fn == "batchnorm_forward" and mode == "test":
        if not isinstance(param, dict) or "running_mean" not in param:
            return None
        mean, var = _f(param["running_mean"]), _f(param["running_var"])
    else:
        axis = 0 if fn == "batchnorm_forward" else 1
        mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)
    inv = 1.0 / np.sqrt(var + _eps(param))
    x_hat = (x - mean) * inv
    return gamma * x_hat + beta, x_hat, inv


def _norm_backward(fwd: str, args: list[Any], dout: np.ndarray) -> list[np.ndarray]:
    replay = _norm_forward(fwd, args, "train")
    assert replay is not None
    _, x_hat, inv = replay
    gamma = _f(args[1])
    axis = 0 if fwd == "batchnorm_forward" else 1
    dxhat = dout * gamma
    n = x_hat.shape[axis]
    dx = inv / n * (n * dxhat - dxhat.sum(axis=axis, keepdims=True)
                    - x_hat * (dxhat * x_hat).sum(axis=axis, keepdims=True))
    return [dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)]


def _softmax(scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.log(p[np.arange(n), y]).mean())
    p[np.arange(n), y] -= 1.0
    return loss, p / n


class _Replay:
    """The recorded calls, numbered by layer, each judged on its own inputs."""

    def __init__(self, calls: Sequence[dict[str, Any]]) -> None:
        self.calls = list(calls)
        self.layer: dict[int, int] = {}
        counts: dict[str, int] = {}
        for i, c in enumerate(self.calls):
            if "_forward" in c["fn"]:
                counts[c["fn"]] = counts.get(c["fn"], 0) + 1
                self.layer[i] = counts[c["fn"]]
        for i, c in enumerate(self.calls):
            j = c.get("forward", -1)
            if "_backward" in c["fn"] and j in self.layer:
                self.layer[i] = self.layer[j]

    def at(self, i: int) -> str:
        return f"{self.calls[i]['fn']}, layer {self.layer[i]}" if i in self.layer \
            else self.calls[i]["fn"]

    def forward_of(self, c: dict[str, Any]) -> dict[str, Any] | None:
        j = c.get("forward", -1)
        return self.calls[j] if 0 <= j < len(self.calls) and "dout" in c else None

    def judge(self, i: int) -> Blame | None:
        c = self.calls[i]
        fn, got, at = c["fn"], c.get("out"), self.at(i)
        args = c.get("args") or []
        if fn == "affine_forward" and len(args) >= 3:
            x, w, b = (_f(a) for a in args[:3])
            if not close(got, x.reshape(x.shape[0], -1) @ w + b):
                return Blame(fn, "out", f"{at}: its output differs from x.reshape(N, D) @ w + b "
                             "on the very inputs the net gave it")
        elif fn == "relu_forward" and args:
            if not close(got, np.maximum(_f(args[0]), 0.0)):
                return Blame(fn, "out", f"{at}: its output differs from max(0, x)")
        elif fn in ("batchnorm_forward", "layernorm_forward") and len(args) >= 3:
            replay = _norm_forward(fn, args, c.get("mode", "train"))
            if replay is not None and not close(got, replay[0]):
                stats = "bn_param's running averages" if c.get("mode") == "test" else \
                    "the batch's statistics" if fn == "batchnorm_forward" else \
                    "each example's statistics"
                return Blame(fn, "out", f"{at}: its output is not gamma * x_hat + beta with "
                             f"{stats} on the inputs the net gave it")
        elif fn == "dropout_forward" and args and c.get("mode") == "test":
            if not close(got, _f(args[0])):
                return Blame(fn, "out", f"{at}: in test mode its output must be x itself")
        elif fn == "softmax_loss" and len(args) >= 2:
            value, dscores = _softmax(_f(args[0]), np.asarray(args[1], dtype=np.int64))
            pair = _parts(got, 2)
            if pair is None or not close(pair[0], value):
                return Blame(fn, "loss", f"{fn}: the loss differs from the mean cross-entropy")
            if not close(pair[1], dscores):
                return Blame(fn, "dx", f"{fn}: dx differs from (softmax - one-hot) / N")
        elif "_backward" in fn:
            return self._backward(c, at)
        return None

    def _backward(self, c: dict[str, Any], at: str) -> Blame | None:
        fn, fwd = c["fn"], self.forward_of(c)
        if fwd is None:
            return None  # a cache that no recorded forward made: cannot judge
        args, dout = fwd.get("args") or [], _f(c["dout"])
        names: tuple[str, ...]
        if fn == "affine_backward" and fwd["fn"] == "affine_forward" and len(args) >= 3:
            x, w = _f(args[0]), _f(args[1])
            flat = x.reshape(x.shape[0], -1)
            names, want = ("dx", "dw", "db"), [(dout @ w.T).reshape(x.shape), flat.T @ dout,
                                               dout.sum(axis=0)]
        elif fn == "relu_backward" and fwd["fn"] == "relu_forward" and args:
            x = _f(args[0])
            names, want = ("dx",), [np.where(x > 0, dout, 0.0)]
        elif fn in ("batchnorm_backward", "batchnorm_backward_alt", "layernorm_backward") \
                and fwd["fn"] in ("batchnorm_forward", "layernorm_forward") and len(args) >= 3 \
                and fwd.get("mode", "train") == "train":
            names, want = ("dx", "dgamma", "dbeta"), _norm_backward(fwd["fn"], args, dout)
        elif fn == "dropout_backward" and fwd["fn"] == "dropout_forward" and args:
            x, out = _f(args[0]), _f(fwd.get("out"))
            parts = _parts(c.get("out"), 1)
            if parts is None or np.shape(parts[0]) != x.shape or x.shape != out.shape:
                return None
            seen = x != 0  # where the ReLU stopped a unit, its mask is not known
            ratio = np.where(seen, out / np.where(seen, x, 1.0), 1.0)
            if not close(_f(parts[0])[seen], (dout * ratio)[seen]):
                return Blame(fn, "dx", f"{at}: dx is not dout times the mask its forward "
                             "applied")
            return None
        else:
            return None
        parts = _parts(c.get("out"), len(names))
        if parts is None:
            return Blame(fn, names[0], f"{at}: returned {type(c.get('out')).__name__}; "
                         f"expected ({', '.join(names)})")
        for name, g, e in zip(names, parts, want):
            if not close(g, e):
                return Blame(fn, name, f"{at}: {name} is wrong for the inputs and the upstream "
                             "gradient the net gave it")
        return None

    def first(self, fn: str, layer: int) -> dict[str, Any] | None:
        return next((c for i, c in enumerate(self.calls)
                     if c["fn"] == fn and self.layer.get(i) == layer), None)


def _mode(replay: _Replay, test: bool) -> Blame | None:
    want = "test" if test else "train"
    for i, c in enumerate(replay.calls):
        mode = c.get("mode")
        if "_forward" in c["fn"] and mode is not None and mode != want:
            param = "dropout_param" if c["fn"] == "dropout_forward" else "bn_param"
            when = "at test time (loss(X), y is None)" if test else "in train mode (loss(X, y))"
            return Blame(NET, f"{param}['mode']", f"{NET} runs {replay.at(i)} in {mode} mode "
                         f"{when}: it must set {param}['mode'] = '{want}'")
    return None


_NORM_BACKWARD = ("batchnorm_backward", "batchnorm_backward_alt", "layernorm_backward")


def _skipped(replay: _Replay, step: str, k: int, prev: Any) -> Any:
    """What the ReLU's or dropout's backward of layer ``k`` would have made of ``prev`` (the
    net may compute it inline, without calling it), or None when nothing was skipped."""
    fwd = replay.first(step.replace("_backward", "_forward"), k)
    args = (fwd or {}).get("args") or []
    if fwd is None or not args:
        return None
    x = _f(args[0])
    if step == "relu_backward":
        return np.where(x > 0, _f(prev), 0.0)
    seen = x != 0
    return _f(prev) * np.where(seen, _f(fwd.get("out")) / np.where(seen, x, 1.0), 0.0)


def _upstream(replay: _Replay) -> Blame | None:
    """Each backward call got the dx of the call after it (softmax_loss's for the last
    affine layer): the chain between the layers, walked from the loss down.  A ReLU or dropout
    backward the net never calls is blamed only when the gradient went on unchanged where it
    had to change (a net may compute them inline)."""
    softmax = next((c for c in replay.calls if c["fn"] == "softmax_loss"), None)
    pair = _parts(softmax.get("out"), 2) if softmax is not None else None
    if pair is None:
        return None
    prev, what = pair[1], "dx of softmax_loss"
    missing: tuple[str, Any] | None = None  # a skipped step and what it would have given
    for k in range(LAYERS, 0, -1):
        steps = ("affine_backward",) if k == LAYERS else (
            "dropout_backward", "relu_backward", "norm", "affine_backward")
        for step in steps:
            names = _NORM_BACKWARD if step == "norm" else (step,)
            c = next((c for n in names if (c := replay.first(n, k)) is not None), None)
            if c is None:
                if step == "relu_backward" and replay.first("relu_forward", k) is None:
                    return None  # a ReLU computed inline, both ways: the chain is not seen
                alt = _skipped(replay, step, k, prev) if step != "norm" else None
                if alt is not None:
                    missing = (step, alt)
                continue
            if "dout" in c and missing is not None:
                step_, alt = missing
                if close(c["dout"], alt):
                    prev = alt  # computed inline: the chain holds
                elif close(c["dout"], prev):
                    return Blame(NET, f"{step_} skipped", f"{NET} never calls {step_} for "
                                 f"layer {k}: the gradient skips that layer's backward")
                missing = None
            if "dout" in c and not close(c["dout"], prev):
                return Blame(NET, f"dout of {c['fn']}", f"{NET} passes {c['fn']}, layer {k} "
                             f"another upstream gradient than {what}")
            parts = _parts(c.get("out"), 1) if c["fn"] in ("relu_backward", "dropout_backward") \
                else _parts(c.get("out"), 3)
            if parts is None:
                return None
            prev, what = parts[0], f"dx of {c['fn']}, layer {k}"
    return None


def _l2(case: dict[str, Any], norm: str | None, res: dict[str, Any],
        replay: _Replay) -> Blame | None:
    """The L2 term of the loss, read against softmax_loss's own loss."""
    softmax = next((c for c in replay.calls if c["fn"] == "softmax_loss"), None)
    pair = _parts(softmax.get("out"), 2) if softmax is not None else None
    reg, got = float(case["reg"]), res.get("loss")
    if pair is None or got is None or not reg:
        return None
    data, p = float(np.squeeze(pair[0])), case["params"]
    terms = {f"W{k}": 0.5 * reg * float(np.sum(_f(p[f"W{k}"]) ** 2))
             for k in range(1, LAYERS + 1)}
    total = sum(terms.values())
    if close(got, data + total):
        return None
    if norm is not None:
        extra = sum(0.5 * reg * float(np.sum(_f(p[f"{n}{k}"]) ** 2))
                    for n in ("gamma", "beta") for k in range(1, LAYERS))
        gammas = sum(0.5 * reg * float(np.sum(_f(p[f"gamma{k}"]) ** 2)) for k in range(1, LAYERS))
        if close(got, data + total + extra) or close(got, data + total + gammas):
            return Blame(NET, "gamma regularization", f"{NET} regularizes gamma and beta: the "
                         "L2 term 0.5*reg*sum(W**2) runs over the weights only")
    if close(got, data):
        return Blame(NET, "regularization", f"{NET} leaves out the regularization term "
                     "0.5*reg*sum(W**2)")
    if close(got, data + 2 * total):
        return Blame(NET, "regularization factor", f"{NET} adds reg*sum(W**2); the term is "
                     "0.5*reg*sum(W**2)")
    left = [k for k, term in terms.items() if close(got, data + total - term)]
    grads = res.get("grads")
    if len(left) > 1 and isinstance(grads, dict):  # equal terms: the gradient tells which
        unreg = [k for k in left if _unregularized(k, grads, replay, reg, case)]
        left = unreg or left
    if left:
        return Blame(NET, f"{left[0]} regularization", f"{' or '.join(left)} is not "
                     "regularized: the loss leaves "
                     f"out 0.5*reg*sum({left[0]}**2)")
    return None


def _unregularized(key: str, grads: dict[str, Any], replay: _Replay, reg: float,
                   case: dict[str, Any]) -> bool:
    """grads[key] is affine_backward's dw alone, without reg * W."""
    aff = replay.first("affine_backward", int(key[1:]))
    parts = _parts(aff.get("out"), 3) if aff is not None else None
    got = grads.get(key)
    return parts is not None and got is not None and close(got, parts[1]) and not close(
        got, _f(parts[1]) + reg * _f(case["params"][key]))


def _grads(case: dict[str, Any], norm: str | None, res: dict[str, Any],
           replay: _Replay) -> Blame | None:
    """Each key of grads against the recorded backward call that computed it."""
    grads, reg, p = res.get("grads"), float(case["reg"]), case["params"]
    if not isinstance(grads, dict):
        return None
    back = {"batchnorm": ("batchnorm_backward", "batchnorm_backward_alt"),
            "layernorm": ("layernorm_backward",)}.get(norm or "", ())
    for k in range(LAYERS, 0, -1):
        sources: list[tuple[str, str, Any, Any]] = []
        aff = replay.first("affine_backward", k)
        parts = _parts(aff.get("out"), 3) if aff is not None else None
        if parts is not None:
            sources += [(f"W{k}", "affine_backward", _f(parts[1]), _f(p[f"W{k}"])),
                        (f"b{k}", "affine_backward", _f(parts[2]), None)]
        nb = next((c for fn in back if (c := replay.first(fn, k)) is not None), None)
        nparts = _parts(nb.get("out"), 3) if nb is not None else None
        if nb is not None and nparts is not None and k < LAYERS:
            sources += [(f"gamma{k}", nb["fn"], _f(nparts[1]), _f(p[f"gamma{k}"])),
                        (f"beta{k}", nb["fn"], _f(nparts[2]), _f(p[f"beta{k}"]))]
        for key, fn, local, value in sources:
            got = grads.get(key)
            want = local + reg * value if key.startswith("W") else local
            if got is None or np.shape(got) != np.shape(want) or close(got, want):
                continue
            if reg and key.startswith("W") and close(got, local):
                return Blame(NET, f"{key} regularization", f"{key} is not regularized: "
                             f"grads['{key}'] misses reg*{key}")
            if reg and value is not None and not key.startswith("W") and close(
                    got, local + reg * value):
                return Blame(NET, "gamma regularization", f"{NET} regularizes gamma and beta: "
                             f"grads['{key}'] adds reg*{key}")
            return Blame(NET, f"grads['{key}']", f"grads['{key}'] is not what {fn}, layer {k} "
                         "returned" + (f" plus reg*{key}" if key.startswith("W") else ""))
    return None


def blame_fc_net(case: dict[str, Any], norm: str | None, res: dict[str, Any],
                 test: bool) -> Blame | None:
    """The first layer call that is wrong on its own inputs, else the mode the net set, else
    the L2 term or a gradient's key, else None."""
    replay = _Replay(res.get("calls") or [])
    for i in range(len(replay.calls)):
        try:
            found = replay.judge(i)
        except (ValueError, TypeError, IndexError, KeyError, AssertionError):
            found = None  # a call of a shape the replay cannot judge: skip it
        if found is not None:
            return found
    return _mode(replay, test) or (None if test else (_upstream(replay)
                                                      or _l2(case, norm, res, replay)
                                                      or _grads(case, norm, res, replay)))
