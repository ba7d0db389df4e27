"""Layer-by-layer blame for a CaptioningRNN whose loss or gradients are wrong.

The net's loss is run again with its layer functions traced (the ``captioning`` scenario with
``traced=True``).  Each recorded call is judged by the oracle on that call's own inputs, so
the first wrong call is the guilty one, whatever happened before it.  When every call is
right, the fault is in the wiring between them: the words fed in, the targets, the mask, the
first hidden state, or a gradient that does not reach its key of ``grads``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bpverify.closeness import close
from bpverify.families.recurrent.checks import oracle
from bpverify.families.recurrent.contract import CAPTIONING, SPECS
from bpverify.grading.checks.blame import Blame, as_float, parts

__all__ = ["Blame", "blame_captioning"]

_f = as_float


def _parts(value: Any, n: int) -> list[Any] | None:
    return parts(value, n, lone_list=True)


def _out_shape(base: str, ins: dict[str, Any]) -> tuple[int, ...]:
    if base == "word_embedding":
        return (*np.shape(ins["x"]), np.shape(ins["W"])[1])
    if base == "temporal_affine":
        return (*np.shape(ins["x"])[:2], np.shape(ins["w"])[1])
    return (*np.shape(ins["x"])[:2], np.shape(ins["h0"])[1])  # rnn, lstm


def _layer(base: str, args: list[Any], dout: Any | None) -> tuple[Any, list[Any]]:
    spec = SPECS[base]
    ins = {n: (np.asarray(a, dtype=np.int64) if base == "word_embedding" and n == "x" else _f(a))
           for n, a in zip(spec.inputs, args)}
    up = _f(dout) if dout is not None else np.zeros(_out_shape(base, ins))
    outs, grads = oracle.layer(base, ins, spec.wrt, spec.outputs, [up])
    return outs[0], grads


def _affine(args: list[Any], dout: Any | None) -> tuple[Any, list[Any]]:
    x, w, b = (_f(a) for a in args)
    flat = x.reshape(x.shape[0], -1)
    out = flat @ w + b
    if dout is None:
        return out, []
    d = _f(dout)
    return out, [(d @ w.T).reshape(x.shape), flat.T @ d, d.sum(axis=0)]


def _judge(c: dict[str, Any], calls: Sequence[dict[str, Any]]) -> Blame | None:
    fn = c["fn"]
    got = c.get("out")
    base = fn.rsplit("_", 1)[0]
    if fn == "temporal_softmax_loss":
        args = c.get("args") or []
        if len(args) < 3:
            return None
        value, dx = oracle.temporal_softmax_loss(args[0], np.asarray(args[1], np.int64),
                                                 args[2])
        pair = _parts(got, 2)
        if pair is None or not close(pair[0], value):
            return Blame(fn, "loss", f"{fn} returns a wrong loss for the scores, targets and "
                         "mask the net gave it")
        if not close(pair[1], dx):
            return Blame(fn, "dx", f"{fn} returns a wrong dx for the scores, targets and mask "
                         "the net gave it")
        return None
    if fn.endswith("_forward"):
        args = c.get("args") or []
        n = 3 if base == "affine" else len(SPECS[base].inputs)
        if len(args) < n:
            return None
        out = _affine(args[:n], None)[0] if base == "affine" else _layer(base, args[:n], None)[0]
        if not close(got, out):
            return Blame(fn, "out", f"{fn}: its output is wrong for the inputs the net gave it")
        return None
    j = c.get("forward", -1)
    if j < 0 or j >= len(calls) or "dout" not in c:
        return None  # a cache that no traced forward made: cannot judge
    fwd = calls[j].get("args") or []
    names = ("dx", "dw", "db") if base == "affine" else SPECS[base].grads
    n = 3 if base == "affine" else len(SPECS[base].inputs)
    if len(fwd) < n:
        return None
    expected = (_affine(fwd[:n], c["dout"]) if base == "affine"
                else _layer(base, fwd[:n], c["dout"]))[1]
    parts = _parts(got, len(names))
    if parts is None:
        return Blame(fn, names[0], f"{fn} returned {type(got).__name__}; expected "
                     f"({', '.join(names)})")
    for name, g, e in zip(names, parts, expected):
        if not close(g, e):
            return Blame(fn, name, f"{fn}: {name} is wrong for the inputs and the upstream "
                         "gradient the net gave it")
    return None


def _first(calls: Sequence[dict[str, Any]], fn: str) -> dict[str, Any] | None:
    return next((c for c in calls if c["fn"] == fn), None)


def _wiring(calls: Sequence[dict[str, Any]], case: dict[str, Any],
            grads: Any) -> Blame | None:
    captions = np.asarray(case["captions"], dtype=np.int64)
    net = f"{CAPTIONING}.loss"
    embed = _first(calls, "word_embedding_forward")
    if embed is not None and embed.get("args") and not np.array_equal(
            np.asarray(embed["args"][0]), captions[:, :-1]):
        return Blame(net, "captions_in", f"{net} embeds other words than captions[:, :-1], "
                     "every word of the caption but the last")
    loss = _first(calls, "temporal_softmax_loss")
    if loss is not None and len(loss.get("args") or []) >= 3:
        y, mask = np.asarray(loss["args"][1]), np.asarray(loss["args"][2])
        if not np.array_equal(y, captions[:, 1:]):
            return Blame(net, "captions_out", f"{net} scores the words against other targets "
                         "than captions[:, 1:], every word of the caption but the first")
        if mask.shape != captions[:, 1:].shape or not np.array_equal(
                mask.astype(bool), captions[:, 1:] != 0):
            return Blame(net, "mask", f"{net} passes temporal_softmax_loss another mask than "
                         "captions[:, 1:] != <NULL>")
    cell = "lstm" if case["cell_type"] == "lstm" else "rnn"
    rnn = _first(calls, f"{cell}_forward")
    p = case["params"]
    if rnn is not None and len(rnn.get("args") or []) >= 2:
        h0 = _f(case["features"]) @ _f(p["W_proj"]) + _f(p["b_proj"])
        if not close(rnn["args"][1], h0):
            return Blame(net, "h0", f"{net} starts the {cell.upper()} from another state than "
                         "h0 = features · W_proj + b_proj")
    back = _first(calls, f"{cell}_backward")
    parts = _parts(back.get("out"), 5) if back is not None else None
    if isinstance(grads, dict) and parts is not None:
        dh0 = _f(parts[1])
        want = {"W_proj": _f(case["features"]).T @ dh0, "b_proj": dh0.sum(axis=0),
                "Wx": parts[2], "Wh": parts[3], "b": parts[4]}
        for key, value in want.items():
            if key in grads and not close(grads[key], value):
                return Blame(net, key, f"{net}: grads['{key}'] is not the gradient that "
                             f"{cell}_backward's dh0 and weights give it")
    return None


def blame_captioning(case: dict[str, Any], traced: dict[str, Any]) -> Blame | None:
    """The first layer call that is wrong on its own inputs, else a fault of the wiring, else
    None."""
    calls = list(traced.get("calls") or [])
    for c in calls:
        try:
            found = _judge(c, calls)
        except (ValueError, TypeError, IndexError, KeyError):
            found = None  # a call of a shape the replay cannot judge: skip it
        if found is not None:
            return found
    try:
        return _wiring(calls, case, traced.get("grads"))
    except (ValueError, TypeError, IndexError, KeyError):
        return None
