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

``rnn_step_backward``: one step for the hidden unit of the largest error, a → tanh → next_h,
the tanh ringed when the diagnosis says its local gradient came from its input.
``word_embedding_backward``: the word indices (repeated words marked) beside the rows of dW,
the chain rule's and the submission's, the rows that differ ringed.

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
from bpverify.teaching.figures import Figure, Formula, Graph, Grid, Line, Stage, numbers

__all__ = ["figure"]


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The drawing of a failed check of a recurrent item, or None."""
    if item.name == "rnn_backward" and check.name == "backward":
        return _unrolled(item, check)
    if item.name == "lstm_step_backward" and check.name == "backward":
        return _lstm_cell(item, check)
    if item.name == "rnn_step_backward" and check.name == "backward":
        return _rnn_step(item, check)
    if item.name == "word_embedding_backward" and check.name == "backward":
        return _embedding(item, check)
    if item.name == "temporal_softmax_loss" and check.name in ("loss", "gradient"):
        return _temporal_loss(item, check)
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


# --- one RNN step and the word embedding -----------------------------------------------------


def _rnn_step(item: ItemResult, check: CheckResult) -> Figure | None:
    names = ("x", "prev_h", "Wx", "Wh", "b", "dnext_h")
    v = variants.as_arrays(dict(check.example or {}), names)
    if v is None or v["prev_h"].ndim != 2 or v["dnext_h"].shape != v["prev_h"].shape:
        return None
    x, h, wx, wh, b, dh = (v[k] for k in names)
    first = check.mismatches[0] if check.mismatches else None
    j = first.index[-1] if first is not None and first.value in ("db", "dWx", "dWh") \
        and first.index else 0
    n = first.index[0] if first is not None and first.value in ("dx", "dprev_h") else 0
    a = x @ wx + h @ wh + b
    nh = np.tanh(a)
    da = dh * (1 - nh ** 2)
    from_input = check.diagnosis is not None and check.diagnosis.mistake == "tanh-from-input"
    stages = (
        Stage("a", "a = x·Wx + prev_h·Wh + b", value=numbers(a[n, j]), grad=numbers(da[n, j])),
        Stage("next_h", "tanh", ("a",), value=numbers(nh[n, j]), grad=numbers(dh[n, j]),
              ring=from_input, tag="yours: tanh′ = 1 - a²" if from_input else ""),
    )
    callout = [f"tanh's local gradient is 1 - next_h² = 1 - {numbers(nh[n, j])}² = "
               f"{numbers(1 - nh[n, j] ** 2)}, so da = {numbers(dh[n, j])} × "
               f"{numbers(1 - nh[n, j] ** 2)} = {numbers(da[n, j])}"]
    if from_input:
        callout.append(f"from its input, 1 - a² = {numbers(1 - a[n, j] ** 2)}: another number")
    callout += [f"{m.value}{list(m.index)}: yours {numbers(m.got)}, the chain rule's "
                f"{numbers(m.expected)}" for m in check.mismatches[:2]]
    return Figure(
        title=f"{item.name}, {check.name}: one step, example {n}, hidden unit {j}",
        parts=(Graph(stages, output="next_h"),),
        callout=tuple(callout),
        intro=f"One RNN step, next_h = tanh(a), for example {n} and hidden unit {j}.",
    )


def _embedding(item: ItemResult, check: CheckResult) -> Figure | None:
    ex = dict(check.example or {})
    x = arr(ex.get("x"))
    e, g = arr(dict(check.expected or {}).get("dW")), arr(dict(check.got or {}).get("dW"))
    if x is None or e is None or g is None or x.ndim != 2 or e.shape != g.shape \
            or e.ndim != 2 or max(x.shape) > 8 or max(e.shape) > 8:
        return None
    idx = x.astype(np.int64)
    words, counts = np.unique(idx, return_counts=True)
    repeated = set(words[counts > 1].tolist())
    cells = tuple(tuple(str(int(w)) for w in row) for row in idx)
    marked = tuple((r, c) for r in range(idx.shape[0]) for c in range(idx.shape[1])
                   if int(idx[r, c]) in repeated)
    wrong = tuple((int(r), int(c)) for r, c in zip(*np.nonzero(~np.isclose(g, e))))

    def rows(a: np.ndarray) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(numbers(v) for v in row) for row in a)

    callout = [f"word {int(w)} occurs {int(k)} times in x: its row of dW collects the sum of "
               f"its {int(k)} gradients (np.add.at)" for w, k in zip(words, counts) if k > 1][:2]
    return Figure(
        title=f"{item.name}, {check.name}: the words and the rows of dW they add to",
        parts=(Grid("x: word indices (repeated in bold)", cells, "val", (), marked),
               Grid("dW: the chain rule's (one row a word)", rows(e), "grad"),
               Grid("dW: yours", rows(g), "grad", (), (), wrong)),
        callout=tuple(callout),
        intro=("word_embedding_forward looks up row x[n, t] of W for every word; backward "
               "adds each word's dout to that row, once for every time the word occurs."),
    )


_LOSS_NOTES = {"mask-ignored": "yours: every step, mask or not",
               "averaged-over-steps": "yours: divided by more than N"}


def _temporal_loss(item: ItemResult, check: CheckResult) -> Figure | None:
    ex = dict(check.example or {})
    x, y, mask = arr(ex.get("x")), arr(ex.get("y")), arr(ex.get("mask"))
    if x is None or y is None or mask is None or x.ndim != 3 or mask.shape != x.shape[:2] \
            or max(mask.shape) > 8:
        return None
    n = x.shape[0]
    shifted = x - x.max(axis=2, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(logp, y.astype(np.int64)[..., None], axis=2)[..., 0]
    loss = float(-(mask * picked).sum() / n)
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    note = _LOSS_NOTES.get(mistake, "")
    gradient = check.name == "gradient"
    lines = [Line("p[n, t] = softmax(x[n, t])"),
             Line("loss = -(1/N)·Σ_n Σ_t mask[n, t]·log p[n, t, y[n, t]]", numbers(loss),
                  ring=bool(note) and not gradient, note="" if gradient else note)]
    if gradient:
        lines.append(Line("dx[n, t] = mask[n, t]·(p[n, t] - onehot(y[n, t])) / N",
                          ring=bool(note), note=note))
    lines += [Line(f"yours: {m.value}{list(m.index) if m.index else ''}", numbers(m.got),
                   yours=True) for m in check.mismatches[:1]]
    cells = tuple(tuple(str(int(v)) for v in row) for row in mask)
    padded = tuple((int(r), int(c)) for r, c in zip(*np.nonzero(mask == 0)))
    return Figure(
        title=f"{item.name}, {check.name}: the loss over the steps the mask keeps",
        parts=(Grid("mask[n, t] (0: a padded step)", cells, "val", (), padded,
                    padded if mistake == "mask-ignored" else ()),
               Formula(f"{item.name} at the minimal example (N = {n})", tuple(lines))),
        intro=("The temporal softmax loss sums each kept step's cross-entropy and divides by "
               "N; a padded step (mask 0) adds nothing and gets no gradient."),
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


def _shapes(ex: dict[str, object]) -> dict[str, str]:
    """Each wire's shape at the example (its dims and captions), written as the course does."""
    dims, captions = ex.get("dims"), arr(ex.get("captions"))
    if not isinstance(dims, dict) or captions is None or captions.ndim != 2:
        return {}
    n, steps = captions.shape[0], captions.shape[1] - 1
    try:
        d, w, h, v = (int(dims[k]) for k in ("D", "W", "H", "V"))
    except (KeyError, TypeError, ValueError):
        return {}
    return {"features": f"({n}, {d})", "captions": f"({n}, {steps + 1})", "h0": f"({n}, {h})",
            "words": f"({n}, {steps}, {w})", "h": f"({n}, {steps}, {h})",
            "scores": f"({n}, {steps}, {v})"}


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
    shapes = _shapes(dict(check.example or {}))
    stages = [Stage(k, call.format(cell=cell), ins, value=shapes.get(k, ""), ring=k == guilty,
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
               "loss, each wire with its shape at the example; the backward calls run the same "
               "chain from the end."),
    )
