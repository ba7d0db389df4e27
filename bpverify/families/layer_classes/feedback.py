"""Diagnoses of the layer classes of "Deep Learning from Scratch", and of the net built from them.

The checks (grading/checks/layer_classes/) say what they established in a failed check's kind
(``misspelled-method``, ``nested-method``, ``method-outside-class``, ``missing-method``,
``interface``, ``ignores-input``, ``caches-mask``) and facts: the names involved (``got_name`` for
``expected_name``: a method ``foward``, an attribute ``self.w``, an undefined ``np``) and, for
the net, the guilty call (``where`` = "Affine2.backward", one of
:data:`.contract.NET_LAYERS`) with the value it got wrong.  The value
rules read the minimal example, as every family's do.  What is not recognised here falls back
to the rules every item shares (shapes, returns, in-place changes, shared state).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from bpverify.families.layer_classes.chapter7 import IDEAS7, MISTAKES7, diagnose7
from bpverify.families.layer_classes.contract import CATEGORY, NET_CATEGORY, NET_LAYERS
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr, gate_rules, generic, match, sigmoid
from bpverify.feedback.patterns import wrong_values as wrong_names
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["CATEGORIES", "IDEAS", "MISTAKES", "diagnose"]

#: The item categories these rules diagnose.
CATEGORIES = (CATEGORY, NET_CATEGORY)

IDEAS: dict[str, str] = {
    "method-names": "the net calls every layer's forward and backward by those exact names, so "
                    "a method spelled otherwise is never called",
    "indent": "a method is a function indented one level under its class line, at the level "
              "of the other methods",
    "interface": "every layer has the same two pieces, forward and backward, with the same "
                 "arguments, so a net can call its layers in turn without knowing which is which",
    "attributes": "forward caches on self what backward needs, under one name: Python's names "
                  "are case-sensitive, so self.W and self.w are two attributes",
    "import-numpy": "the layers compute with numpy: a file that uses np needs import numpy as "
                    "np at its top",
    "forward-return": "forward returns its output, which the next layer takes as its input",
    "relu-forward": "ReLU's forward is max(0, x): every negative input becomes 0, and the mask "
                    "of those inputs is cached for backward",
    "sigmoid-out": "the sigmoid layer caches its output out = σ(x) in forward, because its "
                   "local gradient is (1 - out)·out",
    "mul-cache": "a multiply layer caches both inputs in forward: the gradient switcher gives "
                 "dx = dout·y and dy = dout·x, with this call's x and y, never a constant",
    "blame": "a net is a chain of layers, each right on its own inputs: the first layer that is "
             "wrong on the values it received is the one to fix",
    "layer-op": "an add layer outputs x + y and hands dout to both inputs; a multiply layer "
                "outputs x·y and switches its inputs in backward",
    "softmax-rows": "softmax turns each example's scores into probabilities: on a batch, exp "
                    "and its sum run along each row (axis=1), so every row sums to 1",
}
MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("misspelled-method", "method-names", "misspelled forward or backward"),
    KnownMistake("misplaced-method", "indent",
                 "defined a method outside its class or inside another method"),
    KnownMistake("missing-method", "interface", "left out forward or backward"),
    KnownMistake("interface-differs", "interface",
                 "gave {what} another interface than the book's", "a layer"),
    KnownMistake("misnamed-attribute", "attributes",
                 "stored an attribute under one name and read it under another (self.W, self.w)"),
    KnownMistake("missing-numpy-import", "import-numpy", "used np without import numpy as np"),
    KnownMistake("no-forward-return", "forward-return", "left out forward's return statement"),
    KnownMistake("relu-not-zeroed", "relu-forward",
                 "never zeroed the negative inputs in Relu.forward"),
    KnownMistake("sigmoid-mask", "sigmoid-out", "cached a 0/1 mask in Sigmoid instead of its "
                 "output"),
    KnownMistake("constant-for-input", "mul-cache",
                 "used a constant in {what} where an input belongs", "a gradient"),
    KnownMistake("other-operation", "layer-op",
                 "computed the other layer's operation in {what}.forward", "a layer"),
    KnownMistake("softmax-over-batch", "softmax-rows",
                 "normalized softmax over the whole batch instead of each row"),
    KnownMistake("wrong-layer-in-net", "blame",
                 "had {what} break the net built from their layers", "a layer class"),
    *MISTAKES7,
)
IDEAS.update(IDEAS7)

#: The lecture's gate of the same maths, for the gate patterns (switcher, distributor, σ).
_GATE_OF = {"MulLayer": "MultiplyGate", "AddLayer": "AddGate", "Sigmoid": "SigmoidGate"}


# --- interface and run-time failures -------------------------------------------------------


def _interface(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f, name = check.facts, item.name
    if check.kind == "misspelled-method" and f.got_name:
        return found("misspelled-method", f"{name} has no method {f.value} but defines "
                     f"{f.got_name}, a letter or two off", subject=name)
    if check.kind == "nested-method":
        owner = f.got_name.split(".")[0] or "another method"
        return found("misplaced-method", f"{name}.{f.value} is defined inside the body of "
                     f"{name}.{owner}, so the class has no method {f.value}", subject=name)
    if check.kind == "method-outside-class":
        return found("misplaced-method", f"{f.value} is defined at module level, outside class "
                     f"{name}, so {name} has no method {f.value}", subject=name)
    if check.kind == "missing-method":
        return found("missing-method", f"{name} has no method {f.value}", subject=name)
    if check.kind == "interface" and f.got_name and f.expected_name:
        return found("interface-differs", f"{name} has {f.got_name} where the book's has "
                     f"{f.expected_name}", subject=name)
    return None


def _raised(check: CheckResult, subject: str) -> Diagnosis | None:
    f = check.facts
    if f.exc_type == "AttributeError" and f.got_name and f.expected_name:
        return found("misnamed-attribute", f"{f.where or subject} reads self.{f.got_name}, "
                     f"but the instance stored self.{f.expected_name}", subject=subject)
    if f.exc_type == "NameError" and f.got_name in ("np", "numpy"):
        return found("missing-numpy-import", f"{f.where or subject} uses {f.got_name}, "
                     "which the file never imports", subject=subject)
    return None


def _ignores_input(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f = check.facts
    if not f.value or not f.expected_name:
        return None
    by = f"dout × {f.got_name}" if f.got_name else "dout times a constant"
    return found("constant-for-input", f"{f.value} stays the same when {f.expected_name} "
                 f"changes: it is {by} where dout × {f.expected_name} belongs", subject=f.value)


# --- values ------------------------------------------------------------------------------------


def _relu_forward(ex: dict[str, Any], exp: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    x = arr(ex.get("x"))
    if x is None or not np.any(x < 0) or not match(got.get("out"), x):
        return None
    return found("relu-not-zeroed", "out is x unchanged, negative inputs included, where "
                 "ReLU gives 0", subject="out")


def _sigmoid_mask(ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    """dx = dout·mask or dout·(1 - mask) for a 0/1 mask of x (an all-zero dx proves nothing:
    the check's ``caches-mask`` fact says when it comes from a mask)."""
    x, dout, g = arr(ex.get("x")), arr(ex.get("dout")), arr(got.get("dx"))
    if x is None or dout is None or g is None or g.shape != x.shape or not g.any():
        return None
    for mask in (sigmoid(x) > 0.5, x > 0, x >= 0):
        m = mask.astype(float)
        for form, words in ((m, "mask"), (1 - m, "(1 - mask)")):
            if match(g, dout * form):
                return found("sigmoid-mask", f"dx is dout·{words} for a 0/1 mask of x, not "
                             "dout·(1 - out)·out with out = σ(x)", subject="dx")
    return None


def _caches_mask(check: CheckResult) -> Diagnosis | None:
    f = check.facts
    if not f.got_name:
        return None
    return found("sigmoid-mask", f"after forward, Sigmoid keeps only the 0/1 mask {f.got_name} "
                 f"and not its output {f.expected_name or 'out'} = σ(x), so backward cannot "
                 "compute (1 - out)·out", subject="dx")


def _affine(ex: dict[str, Any], exp: dict[str, Any], got: dict[str, Any],
            wrong: list[str]) -> Diagnosis | None:
    e_dw, g_dw = arr(exp.get("dW")), arr(got.get("dW"))
    if ("dW" in wrong and e_dw is not None and g_dw is not None and e_dw.ndim == 2
            and match(g_dw, e_dw.T)):
        return found("transposed", "dW is the transpose of the right gradient", subject="dW")
    dout = arr(ex.get("dout"))
    if ("db" in wrong and dout is not None and dout.ndim == 2 and dout.shape[0] > 1
            and match(got.get("db"), dout[0])):
        return found("not-summed-over-batch", "db is dout[0], the first example's gradient "
                         "only, not the sum over the batch", subject="db")
    return None


def _other_operation(name: str, ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    """MulLayer.forward that adds, or AddLayer.forward that multiplies (seen where the two
    differ)."""
    x, y = arr(ex.get("x")), arr(ex.get("y"))
    if x is None or y is None:
        return None
    product, total = x * y, x + y
    other, sign = (total, "x + y") if name == "MulLayer" else (product, "x * y")
    if match(got.get("out"), other) and not match(product, total):
        return found("other-operation", f"{name}.forward returned {sign}", subject=name)
    return None


#: Said when an example cannot tell a loss summed over the batch from a softmax normalized over
#: the whole batch (equal scores give both N·log C).
_EITHER = ("; or softmax was normalized over the whole batch (np.sum without an axis): this "
           "example cannot tell the two apart")


def _whole_batch_softmax(ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    """The loss (or dx) of a softmax normalized over the whole batch, not row by row: chapter
    3's one-example softmax (np.sum without axis) given a batch."""
    x, t = arr(ex.get("x")), arr(ex.get("t"))
    if x is None or t is None or x.ndim != 2 or x.shape[0] < 2 or t.shape != x.shape:
        return None
    e = np.exp(x - x.max())
    p = e / e.sum()
    n = x.shape[0]
    loss = float(-np.sum(t * np.log(p + 1e-7)) / n)
    rows = np.exp(x - x.max(axis=1, keepdims=True))
    rows /= rows.sum(axis=1, keepdims=True)
    if "dx" in got:  # the row-wise probabilities give the same dx: nothing seen
        seen = match(got["dx"], (p - t) / n) and not match(got["dx"], (rows - t) / n)
    else:
        seen = match(got.get("loss"), loss) and not match(
            got.get("loss"), float(-np.sum(t * np.log(rows + 1e-7)))) and not match(
            got.get("loss"), float(-np.sum(t * np.log(rows + 1e-7)) / n))
    if not seen:
        return None
    return found("softmax-over-batch", "the probabilities of the whole batch sum to 1, not each "
                 "row's: softmax was normalized with np.sum over every element",
                 subject="softmax")


def _hedged(d: Diagnosis | None, ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    """A loss N times too large, said with the other mistake that gives it on this example."""
    x, t = arr(ex.get("x")), arr(ex.get("t"))
    if d is None or d.mistake != "not-averaged" or x is None or t is None or x.ndim != 2 \
            or t.shape != x.shape or x.shape[0] < 2:
        return d
    e = np.exp(x - x.max())
    loss = float(-np.sum(t * np.log(e / e.sum() + 1e-7)) / x.shape[0])
    return replace(d, saw=d.saw + _EITHER) if match(got.get("loss"), loss) else d


def _softmax(check: CheckResult, item: ItemResult, n: int | None, exp: dict[str, Any],
             got: dict[str, Any], wrong: list[str]) -> Diagnosis | None:
    whole = _whole_batch_softmax(dict(check.example or {}), got)
    if whole is not None:
        return whole
    for other in item.checks:  # the other check's example may tell it apart
        if other is not check and other.status == "failed" and other.got:
            whole = _whole_batch_softmax(dict(other.example or {}), dict(other.got))
            if whole is not None:
                return whole
    d = _hedged(generic(exp, got, wrong, n), dict(check.example or {}), got)
    if d is None or d.mistake != "not-averaged" or "loss" not in wrong:
        return d
    backward = next((c for c in item.checks if c.name == "backward"), None)
    if backward is not None and backward.status == "passed":
        return found("not-averaged", f"{d.saw}, while backward divides the gradient by N: the "
                     "loss is summed but its gradient averaged", subject="loss")
    return d


def _values(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if not exp or not got:
        return None
    ex = dict(check.example or {})
    wrong = wrong_names(check, exp, got)
    x = arr(ex.get("x"))
    n = int(x.shape[0]) if x is not None and x.ndim else None
    name = item.name
    if name == "Relu" and "out" in wrong:
        first = _relu_forward(ex, exp, got)
        if first is not None:
            return first
    if name == "Relu" and "dx" in wrong and x is not None:
        dout = arr(ex.get("dout"))
        if dout is not None and dout.shape == x.shape and match(got.get("dx"),
                                                                 np.where(dout > 0, dout, 0.0)):
            return found("relu-mask-from-dout", "dx keeps dout where dout > 0 instead of where "
                         "x > 0, so the mask came from dout", subject="dx")
    if name == "Sigmoid" and "dx" in wrong:
        first = _sigmoid_mask(ex, got)
        if first is not None:
            return first
    if name in ("MulLayer", "AddLayer") and wrong == ["out"]:
        other = _other_operation(name, ex, got)
        if other is not None:
            return other
    # A gradient of all zeros (a forward value of 0 says nothing about gradients).
    zeros = [w for w in wrong if w.startswith("d")
             and (g := arr(got.get(w))) is not None and g.size and not g.any()]
    if zeros and zeros == wrong:
        # Near 0 every pattern "matches" (σ(-30)·dout is 3e-13): say only what was seen.
        return found("gradient-dropped", f"{zeros[0]} is all zeros where a gradient flows",
                     subject=zeros[0])
    if name in _GATE_OF and not set(wrong) & {"out"}:
        gate = _GATE_OF[name]
        ins: dict[str, Any] = {k: ex.get(k) for k in ("x", "y") if k in ex}
        first = gate_rules(gate, ins, None, ex.get("dout"), exp, got, wrong)
        if first is not None:
            return first
    if name == "Affine":
        first = _affine(ex, exp, got, wrong)
        if first is not None:
            return first
    if name == "SoftmaxWithLoss":
        return _softmax(check, item, n, exp, got, wrong)
    return generic(exp, got, wrong, n)


# --- the net built from the submission's layers -------------------------------------------------


def _shape_rule(value: str, got: tuple[int, ...], exp: tuple[int, ...]) -> Diagnosis | None:
    if len(got) == 2 and tuple(reversed(got)) == exp and got != exp:
        return found("transposed", f"{value} has shape {got}, the transpose of {exp}",
                     subject=value)
    if len(got) == len(exp) + 1 and got[1:] == exp:
        return found("not-summed-over-batch", f"{value} has shape {got}: one {value} per "
                     "example, not summed over the batch", subject=value)
    if int(np.prod(got)) == int(np.prod(exp)):
        return found("not-reshaped", f"{value} has shape {got}, the right size but not the "
                     f"shape {exp}", subject=value)
    return None


def _loss_input(ex: dict[str, Any]) -> dict[str, Any]:
    """What the net's SoftmaxWithLoss was given in example ``ex``: the scores and t."""
    p, x = ex.get("params") or {}, arr(ex.get("x"))
    try:
        h = np.maximum(x @ arr(p["W1"]) + arr(p["b1"]), 0.0)  # type: ignore[operator]
        return {"x": h @ arr(p["W2"]) + arr(p["b2"]), "t": ex.get("t")}
    except (KeyError, TypeError, ValueError):
        return {}


def _net(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f = check.facts
    if check.kind == "raised":  # the call that raised names its class: "Affine (layer 1)"
        return _raised(check, f.where.split(" ")[0] or item.name)
    layer, _, step = f.where.partition(".")
    cls = NET_LAYERS.get(layer)
    if cls is None or step not in ("forward", "backward"):
        return None  # no guilty layer: the rules every item shares
    call = f"{f.where} (class {cls})"
    exp, got = dict(check.expected or {}), dict(check.got or {})
    x = arr(dict(check.example or {}).get("x"))
    n = int(x.shape[0]) if x is not None and x.ndim else None
    k = layer[-1] if layer[-1].isdigit() else ""
    own: Diagnosis | None = None
    if f.got_shape is not None and f.expected_shape is not None:
        own = _shape_rule(f.value, tuple(f.got_shape), tuple(f.expected_shape))
    elif f.returned_none:
        own = found("no-return", "backward returned None, so its return statement is missing",
                    subject=cls)
    elif f.value == "loss" and "loss" in exp and "loss" in got:
        given = _loss_input(dict(check.example or {}))
        own = _whole_batch_softmax(given, {"loss": got["loss"]}) or _hedged(generic(
            {"loss": exp["loss"]}, {"loss": got["loss"]}, ["loss"], n), given, got)
    elif cls == "Affine" and f.value in ("dW", "db") and k:
        key = f.value[1:] + k  # the net's name for it: dW of Affine2 is W2
        e, g = arr(exp.get(key)), arr(got.get(key))
        if f.value == "dW" and e is not None and g is not None and e.ndim == 2 and match(g, e.T):
            own = found("transposed", f"dW ({key} of the net) is the transpose of the right "
                        "gradient", subject="dW")
        elif e is not None and g is not None:
            own = generic({f.value: e}, {f.value: g}, [f.value], n)
    if own is not None:
        return replace(own, saw=f"{call}: {own.saw}", subject=own.subject or cls)
    return found("wrong-layer-in-net", f"{call} is the first call that is wrong on the values "
                 f"the net gave it ({f.value} differs)", subject=cls)


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The mistake behind a failed check of a layer class or of the net built from them, or
    None to leave it to the rules every item shares."""
    if item.category == NET_CATEGORY:
        return _net(check, item)
    kind = check.kind
    if kind in ("misspelled-method", "nested-method", "method-outside-class", "missing-method",
                "interface"):
        return _interface(check, item)
    if kind == "ignores-input":
        return _ignores_input(check, item)
    if kind == "caches-mask":
        return _caches_mask(check)
    if kind == "raised":
        return _raised(check, item.name)
    if kind in ("wrong-values", "wrong-shape", "not-finite", "drop-rate"):
        seen = diagnose7(check, item)
        if seen is not None:
            return seen
    if kind == "bad-return" and check.facts.returned_none and check.facts.value == "out":
        return found("no-forward-return", f"{check.facts.where or item.name} returned None, so "
                     "its return statement is missing", subject=item.name)
    if kind == "wrong-values" and check.name != "instances":
        return _values(check, item)
    if kind == "numerical":
        # Backward disagrees with the submission's own forward: when backward is right and
        # forward wrong, forward's mistake is the one to fix.
        status = {c.name: c for c in item.checks}
        fwd, bwd = status.get("forward"), status.get("backward")
        if fwd is not None and fwd.status == "failed" and bwd is not None and bwd.passed:
            return diagnose(fwd, item)
    return None
