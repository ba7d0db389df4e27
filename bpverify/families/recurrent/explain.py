"""Drawings of failed recurrent items: the unrolled RNN, and CaptioningRNN as layer calls.

``rnn_backward``: the recurrence unrolled over the example's T steps, h0 → step 1 → … → step T,
for the example (row) of the largest error.  Each wire h_t carries its value and the gradient
it collects, dh[:, t] plus the dprev_h that step t+1 sends back; at h0 the submission's dh0
stands beside the right one.  When the diagnosis says the carried gradient was never added,
the wires that should have carried it are dashed and the last step that lost a non-zero one is
ringed.

``lstm_step_backward``: one LSTM cell for the hidden unit of the largest error, every wire a
number as in the lecture's circuits: the gates i, f, o (σ) and g (tanh) of a = x·Wx + h·Wh + b,
next_c = f·prev_c + i·g and next_h = o·tanh(next_c).  next_c leaves the cell too, so its
gradient is dnext_c plus what comes back through tanh; when the diagnosis says dnext_c was
dropped, next_c is ringed.

``CaptioningRNN``: the course's loss as a chain of layer calls (the image features projected to
h0, the words embedded, the recurrence, the vocabulary scores, the temporal softmax loss).
The blame judged each traced call on its own inputs; the call it found guilty is ringed, or,
when every call was right, the value wired wrongly between them.
"""

from __future__ import annotations

import numpy as np

from bpverify.families.recurrent import variants
from bpverify.families.recurrent.contract import CAPTIONING, TRACED
from bpverify.feedback.patterns import arr
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Graph, Stage, numbers

__all__ = ["figure"]


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The drawing of a failed check of a recurrent item, or None."""
    if item.name == "rnn_backward" and check.name == "backward":
        return _unrolled(item, check)
    if item.name == "lstm_step_backward" and check.name == "backward":
        return _lstm_cell(item, check)
    if item.name == CAPTIONING and check.name in ("loss", "gradients"):
        return _captioning(item, check)
    return None


# --- the unrolled RNN ---------------------------------------------------------------------


def _unrolled(item: ItemResult, check: CheckResult) -> Figure | None:
    v = variants.as_arrays(dict(check.example or {}), ("x", "h0", "Wx", "Wh", "b", "dh"))
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if v is None or v["x"].ndim != 3 or v["dh"].shape[:2] != v["x"].shape[:2]:
        return None
    x, h0, wx, wh, b, dh = (v[k] for k in ("x", "h0", "Wx", "Wh", "b", "dh"))
    steps = x.shape[1]
    hs = [h0]
    for t in range(steps):
        hs.append(np.tanh(x[:, t] @ wx + hs[-1] @ wh + b))
    carry = [np.zeros_like(h0) for _ in range(steps + 1)]  # carry[t]: sent back into h_t
    for t in reversed(range(steps)):
        up = dh[:, t] + carry[t + 1]
        da = up * (1 - hs[t + 1] ** 2)
        carry[t] = da @ wh.T
    row = next((m.index[0] for m in check.mismatches if m.index), 0)
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    no_carry = mistake == "rnn-no-carry"
    lost_at = [t for t in range(1, steps) if np.any(carry[t][row] != 0)] if no_carry else []
    ring = max(lost_at, default=None)
    e0, g0 = arr(exp.get("dh0")), arr(got.get("dh0"))
    stages = [Stage("h0", "h0", value=numbers(h0[row]), grad=numbers(carry[0][row]),
                    got=numbers(g0[row]) if g0 is not None and e0 is not None and
                    g0.shape == h0.shape else "")]
    for t in range(1, steps + 1):
        total = dh[row, t - 1] + carry[t][row]
        prev = "h0" if t == 1 else f"h{t - 1}"
        stages.append(Stage(
            f"h{t}", f"step {t}", (prev,), value=numbers(hs[t][row]), grad=numbers(total),
            ring=t == ring or (mistake == "tanh-from-input"),
            tag="carried dh lost" if t == ring else ("tanh′ from a" if mistake ==
                                                      "tanh-from-input" else ""),
            lost=(prev,) if no_carry and t > 1 and t - 1 in lost_at else ()))
    callout = []
    if ring is not None:
        callout.append(f"h{ring} feeds step {ring + 1}, whose dprev_h = "
                       f"{numbers(carry[ring][row])} never reached it: yours gave step "
                       f"{ring} dh[:, {ring - 1}] = {numbers(dh[row, ring - 1])} alone")
    for k in ("dh0", "dWx", "dWh", "db"):
        e, g = arr(exp.get(k)), arr(got.get(k))
        if e is None or g is None or e.shape != g.shape or np.allclose(e, g):
            continue
        if k == "dh0" and e.shape == h0.shape:
            e, g, k = e[row], g[row], f"dh0[{row}]"
        if e.size <= 4:
            callout.append(f"{k}: yours {numbers(g)}, the chain rule's {numbers(e)}")
    return Figure(
        title=f"{item.name}, {check.name}: the RNN unrolled over {steps} steps, example {row}",
        parts=(Graph(tuple(stages), output=f"h{steps}"),),
        callout=tuple(callout),
        intro=(f"The recurrence h_t = tanh(x_t·Wx + h_(t-1)·Wh + b) unrolled over {steps} "
               f"steps for example {row}: each wire h_t with its value and the gradient it "
               "collects, dh[:, t] plus what step t+1 sends back."),
    )


# --- one LSTM cell ------------------------------------------------------------------------------

#: The lane of each wire of the cell: the cell state on top, the gates below it.
_LSTM_ROWS = {"f": 1, "i": 2, "g": 3, "o": 4, "fc": 0, "ig": 2, "c": 1, "tc": 1, "h": 2}
_LSTM_RINGS = {"lstm-dropped-dc": ("c", "dnext_c dropped"),
               "lstm-gate-order": ("a", "gates sliced in another order")}


def _lstm_cell(item: ItemResult, check: CheckResult) -> Figure | None:
    names = ("x", "prev_h", "prev_c", "Wx", "Wh", "b", "dnext_h", "dnext_c")
    v = variants.as_arrays(dict(check.example or {}), names)
    if v is None or v["prev_h"].ndim != 2 or v["dnext_c"].shape != v["prev_c"].shape:
        return None
    x, h, c, wx, wh, b, dh, dc = (v[k] for k in names)
    hidden = h.shape[1]
    where = next((m.index for m in check.mismatches if len(m.index) == 2
                  and m.value in ("dprev_c", "dprev_h", "dx")), None)
    n = where[0] if where else 0
    j = where[1] if where and check.mismatches[0].value == "dprev_c" else 0
    a = x @ wx + h @ wh + b
    sig = 1 / (1 + np.exp(-a))
    i, f, o = (sig[:, k * hidden:(k + 1) * hidden] for k in range(3))
    g = np.tanh(a[:, 3 * hidden:])
    next_c = f * c + i * g
    tc = np.tanh(next_c)
    next_h = o * tc
    d_tc = dh * o
    d_c = dc + d_tc * (1 - tc ** 2)
    vals = {"i": i, "f": f, "o": o, "g": g, "fc": f * c, "ig": i * g, "c": next_c, "tc": tc,
            "h": next_h}
    grads = {"i": d_c * g, "f": d_c * c, "o": dh * tc, "g": d_c * i, "fc": d_c, "ig": d_c,
             "c": d_c, "tc": d_tc, "h": dh}
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    ringed, tag = _LSTM_RINGS.get(mistake, ("", ""))

    def stage(key: str, label: str, *inputs: str) -> Stage:
        return Stage(key, label, inputs, value=numbers(vals[key][n, j]),
                     grad=numbers(grads[key][n, j]), ring=key == ringed,
                     tag=tag if key == ringed else "", row=_LSTM_ROWS[key])

    exp, got = dict(check.expected or {}), dict(check.got or {})
    e, y = arr(exp.get("dprev_c")), arr(got.get("dprev_c"))
    if e is None or y is None or not e.shape == c.shape == y.shape:
        e = y = None
    stages = [
        Stage("prev_c", "prev_c", value=numbers(c[n, j]), grad=numbers((d_c * f)[n, j]),
              got=numbers(y[n, j]) if y is not None else "", row=0),
        Stage("a", "a = x·Wx + h·Wh + b", ring=ringed == "a", tag=tag if ringed == "a" else "",
              value="", row=2),
        stage("f", "σ f", "a"), stage("i", "σ i", "a"), stage("g", "tanh g", "a"),
        stage("o", "σ o", "a"),
        stage("fc", "×", "prev_c", "f"), stage("ig", "×", "i", "g"),
        stage("c", "+", "fc", "ig"), stage("tc", "tanh", "c"), stage("h", "×", "o", "tc"),
    ]
    callout = [f"next_c = {numbers(next_c[n, j])} leaves the cell too: its gradient is "
               f"dnext_c = {numbers(dc[n, j])} plus {numbers((d_tc * (1 - tc ** 2))[n, j])} "
               f"back through tanh, {numbers(d_c[n, j])} in all"]
    if e is not None and y is not None:
        callout.append(f"dprev_c[{n}, {j}] = f·dc: yours {numbers(y[n, j])}, the chain rule's "
                       f"{numbers(e[n, j])}")
    return Figure(
        title=f"{item.name}, {check.name}: one LSTM cell, example {n}, hidden unit {j}",
        parts=(Graph(tuple(stages), output="next_h"),),
        callout=tuple(callout),
        intro=(f"One LSTM step at the minimal example, example {n} and hidden unit {j}: "
               "the gates of a = x·Wx + prev_h·Wh + b (i, f, o through σ, g through tanh), "
               "next_c = f·prev_c + i·g and next_h = o·tanh(next_c), each wire's value and "
               "gradient."),
    )


# --- CaptioningRNN ----------------------------------------------------------------------------

#: The course's loss as calls: (key, the call, what it reads).
_CHAIN = (
    ("features", "features", ()),
    ("captions", "captions", ()),
    ("h0", "affine_forward", ("features",)),
    ("words", "word_embedding_forward", ("captions",)),
    ("h", "{cell}_forward", ("words", "h0")),
    ("scores", "temporal_affine_forward", ("h",)),
    ("loss", "temporal_softmax_loss", ("scores", "captions")),
)
#: A wiring fault (facts.value, when the net's own loss is blamed) -> the stage ringed.
_WIRING = {"mask": "loss", "captions_out": "loss", "captions_in": "words", "h0": "h"}


def _captioning(item: ItemResult, check: CheckResult) -> Figure | None:
    f = check.facts
    cell = "lstm" if dict(check.example or {}).get("cell_type") == "lstm" else "rnn"
    guilty, tag = "", ""
    if f.where in TRACED:
        base = f.where.rsplit("_", 1)[0]
        guilty = next((k for k, call, _ in _CHAIN if call.format(cell=cell).startswith(base)),
                      "")
        tag = f"guilty: {f.where} ({f.value})" if f.where.endswith("_backward") else "guilty"
    elif f.where == f"{CAPTIONING}.loss" and f.value in _WIRING:
        guilty, tag = _WIRING[f.value], f"wrong {f.value} fed in"
    stages = [Stage(k, call.format(cell=cell), ins, ring=k == guilty,
                    tag=tag if k == guilty else "") for k, call, ins in _CHAIN]
    exp, got = dict(check.expected or {}), dict(check.got or {})
    callout = []
    if guilty and f.where in TRACED:
        callout.append(f"{f.where} is the first call that is wrong on the values the net gave "
                       f"it: its {f.value} differs")
    elif guilty:
        callout.append(f"every layer call is right on its own inputs; the {f.value} the net "
                       "passes between them is not")
    for k in ("loss", *sorted(k for k in exp if k != "loss")):
        e, g = arr(exp.get(k)), arr(got.get(k))
        if e is not None and g is not None and e.shape == g.shape and not np.allclose(e, g):
            callout.append(f"{k}: yours {numbers(g)}, expected {numbers(e)}")
            break
    return Figure(
        title=f"{item.name}, {check.name}: the loss as a chain of layer calls",
        parts=(Graph(tuple(stages), output="loss"),),
        callout=tuple(callout),
        intro=("CaptioningRNN.loss as the course builds it: h0 from the image features, the "
               "words embedded, the recurrence, the vocabulary scores and the temporal softmax "
               "loss; the backward calls run the same chain from the end."),
    )
