"""Drawings of failed recurrent items: the unrolled RNN, and CaptioningRNN as layer calls.

``rnn_backward``: the recurrence unrolled over the example's T steps, h0 → step 1 → … → step T,
for the example (row) of the largest error.  Each wire h_t carries its value and the gradient
it collects, dh[:, t] plus the dprev_h that step t+1 sends back; at h0 the submission's dh0
stands beside the right one.  When the diagnosis says the carried gradient was never added,
the wires that should have carried it are dashed and the last step that lost a non-zero one is
ringed.

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
