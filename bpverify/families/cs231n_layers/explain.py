"""The drawing of a failed net: its loss as the chain of layer calls the course builds.

X → affine_forward → relu_forward → … → affine_forward → softmax_loss → + ½·reg·ΣW², with the
data loss and the loss (green) computed from the minimal example's parameters, and the
gradient of the loss on them (red).  A stage is ringed only on the diagnosis's evidence: the
ReLUs whose backward the gradients skipped (the gradients the submission returned are those of
a backward pass without them), or the L2 term the loss or the gradients got wrong.
"""

from __future__ import annotations

import numpy as np

from bpverify.families.cs231n_layers.contract import NET
from bpverify.feedback.patterns import arr
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Graph, Stage, numbers

__all__ = ["figure"]

#: A diagnosis of the L2 term -> what the ringed stage says.
_L2 = {"missing-regularization": "L2 term missing", "regularization-factor": "twice the L2",
       "regularized-biases": "biases regularized"}


def _losses(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray, reg: float,
            layers: int) -> tuple[float, float]:
    """(data loss, loss) of the course's net at the example: softmax + 0.5·reg·ΣW²."""
    h = X.reshape(X.shape[0], -1)
    for k in range(1, layers + 1):
        h = h @ params[f"W{k}"] + params[f"b{k}"]
        if k < layers:
            h = np.maximum(h, 0.0)
    shifted = h - h.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    data = float(-logp[np.arange(len(y)), y].mean())
    l2 = 0.5 * reg * sum(float(np.sum(params[f"W{k}"] ** 2)) for k in range(1, layers + 1))
    return data, data + l2


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The chain of layer calls of a failed net check, or None."""
    if item.category != NET or check.name not in ("loss", "gradients", "regularization"):
        return None
    ex = dict(check.example or {})
    raw = ex.get("params")
    X, y = arr(ex.get("X")), arr(ex.get("y"))
    if not isinstance(raw, dict) or X is None or y is None:
        return None
    params = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
    layers = sum(1 for k in params if k.startswith("W"))
    reg = float(ex.get("reg") or 0.0)
    try:
        data, loss = _losses(params, X, y.astype(np.int64), reg, layers)
    except (KeyError, ValueError, IndexError):
        return None
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    skipped = mistake == "relu-backward-skipped"
    stages = [Stage("X", "X", value=f"shape {tuple(X.shape)}")]
    prev = "X"
    for k in range(1, layers + 1):
        stages.append(Stage(f"a{k}", f"affine_forward {k}", (prev,)))
        prev = f"a{k}"
        if k < layers:
            stages.append(Stage(f"r{k}", f"relu_forward {k}", (prev,), ring=skipped,
                                tag="relu_backward skipped" if skipped else "",
                                lost=(prev,) if skipped else ()))
            prev = f"r{k}"
    stages.append(Stage("data", "softmax_loss", (prev,), value=numbers(data), grad="1"))
    stages.append(Stage("loss", "+ ½·reg·ΣW²", ("data",), value=numbers(loss), grad="1",
                        ring=mistake in _L2, tag=_L2.get(mistake, "")))
    callout = [f"{m.value}{list(m.index) if m.index else ''}: yours {numbers(m.got)}, "
               f"expected {numbers(m.expected)}" for m in check.mismatches[:2]]
    if skipped:
        callout.append("the gradients are those of a backward pass that goes from each "
                       "affine_backward straight into the one before, never through "
                       "relu_backward")
    return Figure(
        title=f"{item.name}, {check.name}: the loss as a chain of layer calls",
        parts=(Graph(tuple(stages), output="loss"),),
        callout=tuple(callout),
        intro=(f"{item.name}.loss as the course builds it, {layers} affine layers with a ReLU "
               f"between each two, the softmax loss and the L2 term (reg = {reg:g}); the data "
               "loss and the loss at the minimal example."),
    )
