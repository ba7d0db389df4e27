"""Diagnoses of CS231n's recurrent layers, in the lecture's words.

A rule replays one known mistake (:mod:`.variants`) on the failed check's minimal example and
names it only when the submission returned exactly what that mistake gives, for the values
that were wrong.  What is not recognised here falls back to the rules every item shares.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.recurrent import variants
from bpverify.families.recurrent.contract import (
    CAPTIONING,
    CAPTIONING_CATEGORY,
    LOSS_CATEGORY,
    SPECS,
    TRACED,
)
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr, match
from bpverify.feedback.patterns import wrong_values as wrong_names
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["IDEAS", "MISTAKES", "diagnose"]

IDEAS: dict[str, str] = {
    "rnn-carry": "the hidden state h_t feeds both step t's output and step t+1, so its "
                 "gradient is the sum of both: dh[:, t] plus the dprev_h that step t+1 sends "
                 "back (backpropagation through time)",
    "rnn-sum": "Wx, Wh and b are used at every time step, and a value used in several places "
               "collects the sum of their gradients (fan-out adds): dWx += at every step",
    "tanh-local": "tanh's local gradient is 1 - tanh(a)² = 1 - next_h², computed from the "
                  "output that forward cached, not from its input a",
    "embedding-add-at": "a word that occurs several times fans out, so its row of W collects "
                        "the sum of all its gradients: np.add.at(dW, x, dout) adds them, "
                        "while dW[x] += dout keeps only one",
    "lstm-gates": "a = x·Wx + prev_h·Wh + b holds the four gates in the order i, f, o, g (H "
                  "columns each): i, f and o through a sigmoid, g through tanh, sliced the "
                  "same way in forward and in backward",
    "lstm-cell": "the cell state reaches the loss two ways, through next_h = o·tanh(next_c) "
                 "and through the next step's cell, so dc = dnext_c + dnext_h·o·(1 - "
                 "tanh²(next_c)), and lstm_backward carries dprev_c from step t+1 to step t",
    "mask": "a padded step (mask false) is not a word of the caption: it adds nothing to the "
            "loss and gets no gradient, so multiply both by the mask",
    "temporal-mean": "the temporal loss sums the cross-entropy over the steps and averages "
                     "over the N sequences only: divide by N, not by N·T",
    "captioning-blame": "a net is a chain of layers, each right on its own inputs: the first "
                        "layer call that is wrong on the values it received is the one to fix",
    "captioning-shift": "the net reads word t and predicts word t+1: its input is "
                        "captions[:, :-1] and its target captions[:, 1:], and the mask is "
                        "captions_out != <NULL>",
    "captioning-flow": "every layer is right on its own inputs, so the fault is between them: "
                       "h0 = features·W_proj + b_proj starts the recurrence, and grads[k] is "
                       "the gradient that reaches params[k]",
}

MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("rnn-no-carry", "rnn-carry",
                 "did not carry the hidden state's gradient from step t+1 back to step t"),
    KnownMistake("rnn-overwrite", "rnn-sum",
                 "kept one step's weight gradients (=) instead of summing them over time (+=)"),
    KnownMistake("tanh-from-input", "tanh-local",
                 "computed tanh's local gradient from its input instead of its output"),
    KnownMistake("embedding-lost-repeats", "embedding-add-at",
                 "wrote dW[x] += dout, losing the gradients of repeated words"),
    KnownMistake("lstm-gate-order", "lstm-gates",
                 "sliced the LSTM's gates in another order than i, f, o, g"),
    KnownMistake("lstm-dropped-dc", "lstm-cell", "dropped the cell state's gradient dnext_c"),
    KnownMistake("mask-ignored", "mask", "ignored the mask in temporal_softmax_loss"),
    KnownMistake("averaged-over-steps", "temporal-mean",
                 "averaged the temporal loss over N·T instead of N"),
    KnownMistake("captioning-guilty-layer", "captioning-blame",
                 "had {what} break the CaptioningRNN built on it", "a layer function"),
    KnownMistake("captioning-mask", "captioning-shift",
                 "masked the captions with another mask than captions_out != <NULL>"),
    KnownMistake("captioning-shift", "captioning-shift",
                 "fed or scored the captions without shifting them by one word"),
    KnownMistake("captioning-wiring", "captioning-flow",
                 "wired {what} of the CaptioningRNN wrongly", "a value"),
)

Values = dict[str, Any]


def _replays(got: Values, replay: dict[str, Any], wrong: list[str]) -> bool:
    """The mistake's replay gives every value the submission returned, the wrong ones (at
    least one) and the right ones alike."""
    return bool(wrong) and all(n in replay for n in wrong) and all(
        match(g, replay[n]) for n, g in got.items() if n in replay)


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- the vanilla RNN ---------------------------------------------------------------------


def _rnn_step(ex: Values, got: Values, wrong: list[str]) -> Diagnosis | None:
    v = variants.as_arrays(ex, ("x", "prev_h", "Wx", "Wh", "b", "dnext_h"))
    if v is None:
        return None
    for how, words in (("input", "1 - a², a = x·Wx + prev_h·Wh + b, the input of tanh"),
                       ("twice", "1 - tanh(next_h)², tanh applied to its own output again")):
        alt = dict(zip(SPECS["rnn_step"].grads, variants.Rnn(tanh_from=how).step_backward(
            v["x"], v["prev_h"], v["Wx"], v["Wh"], v["b"], v["dnext_h"])))
        if _replays(got, alt, wrong):
            return found("tanh-from-input", f"{_names(wrong)} use{'s' if len(wrong) == 1 else ''}"
                         f" tanh' = {words}, where tanh' = 1 - next_h²", subject=_names(wrong))
    return None


def _sequence(kind: str, ex: Values, got: Values, wrong: list[str]) -> Diagnosis | None:
    v = variants.as_arrays(ex, ("x", "h0", "Wx", "Wh", "b", "dh"))
    if v is None or v["x"].ndim != 3:
        return None
    args = (v["x"], v["h0"], v["Wx"], v["Wh"], v["b"], v["dh"])
    subject = _names(wrong)
    # Whole mistakes first: each replay must give every returned gradient, right or wrong.
    if kind == "rnn":
        replays: list[tuple[Any, str, str]] = [
            (variants.Rnn(carry=False), "rnn-no-carry", "each step of rnn_backward gets "
             "dh[:, t] alone: the dprev_h of step t+1 is never added to it"),
            (variants.Rnn(tanh_from="input"), "tanh-from-input", f"{subject} use tanh' = "
             "1 - a² with a the input of tanh, where tanh' = 1 - h_t², from the output"),
        ]
    else:
        replays = [
            (variants.Lstm(carry_h=False), "rnn-no-carry", "each step of lstm_backward gets "
             "dh[:, t] alone: the dprev_h of step t+1 is never added to it"),
            (variants.Lstm(carry_c=False), "lstm-dropped-dc", "lstm_backward never hands "
             "dprev_c of step t+1 to step t: every step starts with dnext_c = 0"),
            (variants.Lstm(dc=False), "lstm-dropped-dc", "lstm_step_backward leaves dnext_c "
             "out of the cell state's gradient, and lstm_backward is built on it"),
        ]
    for model, mistake, saw in replays:
        if _replays(got, model.backward(*args)[0], wrong):
            return found(mistake, saw, subject=subject)
    if kind == "lstm":
        for order in variants.gate_orders():
            for lstm in (variants.Lstm(order=order), variants.Lstm(back_order=order)):
                if _replays(got, lstm.backward(*args)[0], wrong):
                    return _gate_order(order, subject)
    # Then one step's weight gradients kept instead of their sum; the rest must be right.
    _, steps = (variants.Rnn() if kind == "rnn" else variants.Lstm()).backward(*args)
    weights = [w for w in wrong if w in ("dWx", "dWh", "db")]
    if weights and weights == wrong and len(steps) > 1 and all(
            any(match(got.get(w), s[w]) for s in steps) for w in weights):
        return found("rnn-overwrite", f"{_names(weights)} hold{'s' if len(weights) == 1 else ''}"
                     f" the gradient of one time step only, not the sum over all {len(steps)} "
                     "steps", subject=_names(weights))
    return None


def _gate_order(order: str, subject: str) -> Diagnosis:
    return found("lstm-gate-order", f"{subject} {'is' if ' and ' not in subject else 'are'} "
                 f"what the gates sliced in the order {', '.join(order)} give, not i, f, o, g",
                 subject=subject)


# --- the LSTM's single step ------------------------------------------------------------------

_STEP = ("x", "prev_h", "prev_c", "Wx", "Wh", "b")


def _lstm_step_forward(ex: Values, got: Values, wrong: list[str]) -> Diagnosis | None:
    v = variants.as_arrays(ex, _STEP)
    if v is None:
        return None
    for order in variants.gate_orders():
        next_h, next_c, _ = variants.Lstm(order=order).step(*(v[n] for n in _STEP))
        if _replays(got, {"next_h": next_h, "next_c": next_c}, wrong):
            return _gate_order(order, _names(wrong))
    return None


def _lstm_step_backward(ex: Values, got: Values, wrong: list[str]) -> Diagnosis | None:
    v = variants.as_arrays(ex, (*_STEP, "dnext_h", "dnext_c"))
    if v is None:
        return None
    args = [v[n] for n in (*_STEP, "dnext_h", "dnext_c")]
    names = SPECS["lstm_step"].grads
    if _replays(got, dict(zip(names, variants.Lstm(dc=False).step_backward(*args))), wrong):
        return found("lstm-dropped-dc", "lstm_step_backward leaves dnext_c out: the cell "
                     "state's gradient is dnext_h·o·(1 - tanh²(next_c)) alone",
                     subject=_names(wrong))
    for order in variants.gate_orders():
        for lstm in (variants.Lstm(order=order), variants.Lstm(back_order=order)):
            if _replays(got, dict(zip(names, lstm.step_backward(*args))), wrong):
                return _gate_order(order, _names(wrong))
    return None


# --- word embeddings and the loss ---------------------------------------------------------------


def _embedding(ex: Values, got: Values, exp: Values, wrong: list[str]) -> Diagnosis | None:
    x, dout, dW = arr(ex.get("x")), arr(ex.get("dout")), arr(exp.get("dW"))
    if x is None or dout is None or dW is None or "dW" not in wrong:
        return None
    idx = x.astype(np.int64)
    if np.unique(idx).size == idx.size:
        return None
    if match(got.get("dW"), variants.add_at_lost(idx, dout, dW.shape[0])):
        return found("embedding-lost-repeats", "dW holds one gradient per word where a word "
                     "occurs several times in x: the others were lost, as dW[x] += dout does",
                     subject="dW")
    return None


def _loss(ex: Values, got: Values, wrong: list[str]) -> Diagnosis | None:
    v = variants.as_arrays(ex, ("x", "y", "mask"))
    if v is None:
        return None
    x, y, mask = v["x"], v["y"].astype(np.int64), v["mask"]
    for use_mask, divide in ((False, "N"), (True, "NT"), (False, "NT"), (True, "mask")):
        loss, dx = variants.temporal_loss(x, y, mask, use_mask=use_mask, divide=divide)
        if not _replays(got, {"loss": loss, "dx": dx}, wrong):
            continue
        if not use_mask:
            return found("mask-ignored", f"{_names(wrong)} count{'s' if len(wrong) == 1 else ''}"
                         " the steps where the mask is false as well", subject=_names(wrong))
        by = "N·T, every step of every sequence" if divide == "NT" else \
            "the number of steps that count"
        return found("averaged-over-steps", f"{_names(wrong)} {'is' if len(wrong) == 1 else 'are'}"
                     f" divided by {by}, where the course divides by N", subject=_names(wrong))
    return None


# --- the dispatcher -------------------------------------------------------------------------------


def _values(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if not exp or not got:
        return None
    ex = dict(check.example or {})
    wrong = wrong_names(check, exp, got)
    if item.category == LOSS_CATEGORY:
        return _loss(ex, got, wrong)
    name = item.name
    if name == "rnn_step_backward":
        return _rnn_step(ex, got, wrong)
    if name in ("rnn_backward", "lstm_backward"):
        return _sequence(name.split("_")[0], ex, got, wrong)
    if name == "word_embedding_backward":
        return _embedding(ex, got, exp, wrong)
    if name == "lstm_step_forward":
        return _lstm_step_forward(ex, got, wrong)
    if name == "lstm_step_backward":
        return _lstm_step_backward(ex, got, wrong)
    if name == "lstm_forward":
        return _lstm_forward(ex, got, wrong)
    return None


def _lstm_forward(ex: Values, got: Values, wrong: list[str]) -> Diagnosis | None:
    v = variants.as_arrays(ex, ("x", "h0", "Wx", "Wh", "b"))
    if v is None or "h" not in wrong:
        return None
    for order in variants.gate_orders():
        h, _ = variants.Lstm(order=order).forward(*(v[n] for n in ("x", "h0", "Wx", "Wh",
                                                                   "b")))
        if match(got.get("h"), h):
            return _gate_order(order, "h")
    return None


def _captioning(check: CheckResult) -> Diagnosis | None:
    """The blame's verdict, stored in the facts: the guilty call and the value it got wrong."""
    f = check.facts
    if f.where in TRACED:
        return found("captioning-guilty-layer", f"{f.where} is the first call that is wrong on "
                     f"the values the net gave it ({f.value} differs)", subject=f.where)
    if f.where != f"{CAPTIONING}.loss":
        return None
    if f.value == "mask":
        return found("captioning-mask", "the mask handed to temporal_softmax_loss is not "
                     "captions[:, 1:] != <NULL>", subject="mask")
    if f.value in ("captions_in", "captions_out"):
        which = "input words" if f.value == "captions_in" else "targets"
        return found("captioning-shift", f"the {which} are not {f.value} = captions"
                     f"[:, {':-1' if f.value == 'captions_in' else '1:'}]", subject=f.value)
    if f.value:
        shown = f.value if f.value == "h0" else f"grads['{f.value}']"
        return found("captioning-wiring", f"every layer call is right on its own inputs, but "
                     f"{shown} is not what they give", subject=shown)
    return None


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The mistake behind a failed check of a recurrent layer, or None to leave it to the
    rules every item shares."""
    if item.category == CAPTIONING_CATEGORY:
        if check.kind == "numerical":
            judged = {c.name: c for c in item.checks}
            for name in ("gradients", "loss"):
                other = judged.get(name)
                if other is not None and other.status == "failed":
                    return _captioning(other)
            return None
        return _captioning(check) if check.kind == "wrong-values" else None
    if check.kind == "wrong-values":
        return _values(check, item)
    if check.kind == "numerical":
        # Backward disagrees with the submission's own forward: the value check's diagnosis,
        # when it has one, names the same mistake.
        judged = {c.name: c for c in item.checks}
        for name in ("backward", "gradient"):
            other = judged.get(name)
            if other is not None and other.status == "failed" and other.kind == "wrong-values":
                return _values(other, item)
    return None
