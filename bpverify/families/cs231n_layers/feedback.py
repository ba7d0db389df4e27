"""Diagnoses of CS231n's layers, losses and nets.

Each rule reads a failed check's minimal example, expected and returned values (by name) and
returns the recognised mistake, or falls back to :func:`~bpverify.feedback.patterns.generic`:
:func:`wrong_values` is asked about a wrong-values failure the rules every item shares did not
explain; :func:`diagnose`, before them, recognises a net whose ``loss(X)`` has no scores branch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.cs231n_layers.contract import LAYER, LOSS, NET
from bpverify.feedback.mistakes import found
from bpverify.feedback.patterns import (
    all_of,
    arr,
    generic,
    match,
    name_list,
    same_shape,
)
from bpverify.feedback.patterns import wrong_values as wrong_names
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["diagnose", "example_of", "layer_check", "loss_check", "net_check", "wrong_values"]


def example_of(check: CheckResult) -> dict[str, Any]:
    return dict(check.example or {})


def layer_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
                 got: dict[str, Any]) -> Diagnosis | None:
    ex = example_of(check)
    wrong = wrong_names(check, exp, got)
    x = arr(ex.get("x"))
    dout = arr(ex.get("dout"))
    n = int(x.shape[0]) if x is not None and x.ndim else None
    if item.name.startswith("affine"):
        if "out" in wrong and match(got["out"], np.asarray(exp["out"]) - np.asarray(ex["b"])):
            return found("missing-bias", "out is missing b in every row", subject="out")
        if "db" in wrong and dout is not None and n and n > 1:
            first, mean = match(got["db"], dout[0]), match(got["db"], dout.mean(axis=0))
            if first and mean:
                return found("not-summed-over-batch", "db is 1/N of the sum over the batch "
                             "(the mean of dout, here equal to its first row), not the sum",
                             subject="db")
            if first:
                return found("not-summed-over-batch", "db is dout[0], the first example's "
                             "gradient only, not the sum over the batch", subject="db")
        e_dw, g_dw = arr(exp.get("dw")), arr(got.get("dw"))
        if ("dw" in wrong and e_dw is not None and g_dw is not None and e_dw.ndim == 2
                and match(g_dw, e_dw.T)):
            return found("transposed", "dw is the transpose of the right gradient",
                         subject="dw")
    if item.name == "relu_backward" and x is not None and dout is not None:
        g = got.get("dx")
        if match(g, np.where(dout > 0, dout, 0.0)):
            return found("relu-mask-from-dout", "dx keeps dout where dout > 0 instead of where "
                         "x > 0, so the mask came from dout", subject="dx")
        if match(g, (x > 0).astype(float)):
            return found("upstream-not-multiplied", "dx is the 0/1 mask alone, not multiplied "
                         "by dout", subject="dx")
    if item.name.endswith("backward") and dout is not None:
        for name in wrong:
            if same_shape(got[name], exp[name], dout) and match(
                    np.asarray(got[name]) * dout, exp[name]) and not match(dout, 1.0 + 0 * dout):
                return found("upstream-not-multiplied", f"{name} is the local gradient alone, "
                             "not multiplied by dout", subject=name)
    return generic(exp, got, wrong, n)


def _softmax_probs(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _svm_loss(scores: np.ndarray, y: np.ndarray, delta: float) -> float:
    rows = np.arange(len(y))
    m = np.maximum(0.0, scores - scores[rows, y][:, None] + delta)
    m[rows, y] = 0.0
    return float(m.sum() / len(y))


def loss_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
                got: dict[str, Any]) -> Diagnosis | None:
    ex = example_of(check)
    scores = arr(ex.get("scores"))
    y = arr(ex.get("y"))
    wrong = wrong_names(check, exp, got)
    if scores is None or y is None or scores.ndim != 2:
        return generic(exp, got, wrong, None)
    n = scores.shape[0]
    labels = y.astype(int)
    rows = np.arange(n)
    if "dscores" in wrong:
        g, e = np.asarray(got["dscores"], float), np.asarray(exp["dscores"], float)
        onehot = np.zeros_like(e)
        onehot[rows, labels] = 1.0
        if item.name == "softmax_loss" and match(g - e, onehot / n):
            return found("missing-minus-one", "dscores is the probabilities divided by N, "
                         "without the -1 at the correct class", subject="dscores")
        if item.name == "svm_loss" and g.shape == e.shape:
            off = onehot.astype(bool)
            if match(g[~off], e[~off]) and not np.any(g[off]) and np.any(e[off]):
                return found("missing-correct-class", "dscores is right except at the "
                             "correct class, where it is 0", subject="dscores")
    if ("loss" in wrong and item.name == "svm_loss"
            and match(got["loss"], _svm_loss(scores, labels, 0.0))):
        return found("margin-zero", "the loss is the hinge loss with margin 0", subject="loss")
    return generic(exp, got, wrong, n)


def _net_grads(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float,
               relu_mask: bool) -> dict[str, np.ndarray]:
    """The reference net's gradients, optionally with ReLU's mask left out of the backward."""
    layers = len(params) // 2
    hs, pre = [X], []
    for i in range(1, layers + 1):
        a = hs[-1] @ params[f"W{i}"] + params[f"b{i}"]
        pre.append(a)
        hs.append(np.maximum(a, 0.0) if i < layers else a)
    n = X.shape[0]
    dh = _softmax_probs(hs[-1])
    dh[np.arange(n), y] -= 1.0
    dh /= n
    grads = {}
    for i in range(layers, 0, -1):
        grads[f"W{i}"] = hs[i - 1].T @ dh + reg * params[f"W{i}"]
        grads[f"b{i}"] = dh.sum(axis=0)
        dh = dh @ params[f"W{i}"].T
        if i > 1 and relu_mask:
            dh = np.where(pre[i - 2] > 0, dh, 0.0)
    return grads


def net_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
               got: dict[str, Any]) -> Diagnosis | None:
    ex = example_of(check)
    wrong = wrong_names(check, exp, got)
    params = {k: np.asarray(v, float) for k, v in dict(ex.get("params") or {}).items()}
    reg = float(ex.get("reg") or 0.0)
    if not params or not wrong:
        return generic(exp, got, wrong, None)
    weights = [k for k in params if k.startswith("W")]
    biases = [k for k in params if k.startswith("b")]
    if "loss" in wrong and reg:
        r = 0.5 * reg * sum(float(np.sum(params[k] ** 2)) for k in weights)
        rb = 0.5 * reg * sum(float(np.sum(params[k] ** 2)) for k in biases)
        gl, el = float(np.squeeze(got["loss"])), float(np.squeeze(exp["loss"]))
        if match(gl, el - r):
            return found("missing-regularization", "the loss leaves out the regularization "
                         "term 0.5·reg·ΣW²", subject="loss")
        if match(gl, el + r):
            return found("regularization-factor", "the loss adds reg·ΣW², twice the "
                         "regularization term 0.5·reg·ΣW²", subject="loss")
        if rb and match(gl, el + rb):
            return found("regularized-biases", "the loss also regularizes the biases",
                         idea="weights-only-loss", subject="loss")
    if reg and any(k in wrong for k in weights + biases):
        gw = [k for k in weights if k in wrong]
        if gw and all_of(gw, lambda k: match(got[k], np.asarray(exp[k]) - reg * params[k])):
            return found("missing-regularization", f"{name_list(gw)} "
                         f"leave{'s' if len(gw) == 1 else ''} out the regularization gradient "
                         "reg·W", subject=name_list(gw))
        if gw and all_of(gw, lambda k: match(got[k], np.asarray(exp[k]) + reg * params[k])):
            return found("regularization-factor", f"{name_list(gw)} "
                         f"add{'s' if len(gw) == 1 else ''} 2·reg·W, the gradient of reg·ΣW² "
                         "instead of 0.5·reg·ΣW²", subject=name_list(gw))
        gb = [k for k in biases if k in wrong]
        if gb and all_of(gb, lambda k: match(got[k], np.asarray(exp[k]) + reg * params[k])):
            return found("regularized-biases", f"{name_list(gb)} include reg·b",
                         subject=name_list(gb))
    X, y = arr(ex.get("X")), arr(ex.get("y"))
    if X is not None and y is not None and set(weights + biases) <= set(got):
        try:
            skip = _net_grads(params, X, y.astype(int), reg, relu_mask=False)
        except (ValueError, KeyError, IndexError):
            skip = {}
        if skip and all(match(got[k], skip[k]) for k in wrong):
            return found("relu-backward-skipped", f"{name_list(wrong)} match a backward pass "
                         "that skips relu_backward between the layers", subject=name_list(wrong))
    return generic(exp, got, wrong, X.shape[0] if X is not None and X.ndim else None)


def wrong_values(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The mistake behind a wrong-values failure of a layer, a loss or a net, or None."""
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if not exp or not got:
        return None
    rule = {LAYER: layer_check, LOSS: loss_check, NET: net_check}.get(item.category)
    return rule(check, item, exp, got) if rule else None


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """A net's scores check that failed in ``loss(X)`` for no other recognised reason (it gave
    back no value, or raised): it has no branch that returns the scores without labels."""
    f = check.facts
    if item.category != NET or check.name != "scores" or "loss(X)" not in f.where:
        return None
    other = (f.returned_none or f.missing_keys or (f.returned_count is not None
                                                    and f.expected_count is not None))
    if (check.kind == "bad-return" and not other) or (check.kind == "raised"
                                                       and not f.array_truth_value):
        return found("no-scores-branch", "loss(X) without labels did not return the scores")
    return None
