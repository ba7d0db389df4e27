"""Name the mistake behind a failed check, in one sentence that points to the lecture's idea.

``diagnose`` is a pure function of a :class:`CheckResult` (and its item): it compares what the
submission returned with what the oracle expected, using the minimal example Hypothesis found,
and recognises the classic backpropagation mistakes.  It returns None when it sees no pattern:
a diagnosis is a guess that must never be wrong about what it *saw*.

``locate_fault`` reads a circuit's gate-by-gate trace: the first gate whose own result disagrees
with the oracle is guilty; gates that merely received its wrong value are affected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bpverify.model import CheckResult, GateStep, ItemResult

__all__ = ["Diagnosis", "Fault", "diagnose", "diagnosis_line", "locate_fault"]

# Patterns are matched with a relative tolerance far looser than the grader's (a factor of 2
# is 100% off) yet tight enough that a pattern never matches by accident on random inputs.
_RTOL = 1e-6
_ATOL = 1e-9


@dataclass(frozen=True)
class Diagnosis:
    """A recognised mistake: a stable tag, what was seen, and the lecture's idea behind it."""

    mistake: str  #: e.g. "sign-flipped", "inputs-swapped", "upstream-not-multiplied"
    saw: str  #: what the comparison showed, e.g. "dx has the right size but the wrong sign"
    idea: str  #: the lecture's idea that fixes it

    @property
    def text(self) -> str:
        """The hint, one sentence: what was seen, then the idea."""
        return f"{self.saw} — {self.idea}."

    def __str__(self) -> str:
        return self.text


# --- circuits: who is guilty --------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """Where a circuit went wrong first, and which other gates only suffered from it."""

    index: int  #: the guilty step, an index into the trace (forward order)
    direction: Literal["forward", "backward"]
    faulty: frozenset[int]  #: every step that is itself wrong (the guilty one included)
    affected: frozenset[int]  #: right given what they received, but received a wrong value
    true_grads: dict[str, float]  #: each wire's gradient had every gate been right


def _close(a: Any, b: Any) -> bool:
    try:
        return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-7,
                                atol=1e-9, equal_nan=False))
    except (TypeError, ValueError):
        return False


def _true_grads(trace: Sequence[GateStep]) -> dict[str, float]:
    """Backward with the oracle's local gradients at the inputs each gate actually saw."""
    if not trace or trace[-1].upstream is None:
        return {}
    grads: dict[str, float] = {trace[-1].output: float(trace[-1].upstream)}
    for s in reversed(trace):
        up = grads.get(s.output, 0.0)
        for w, local in zip(s.inputs, s.local_grads):
            grads[w] = grads.get(w, 0.0) + float(local) * up
    return grads


def _descendants(trace: Sequence[GateStep], start: int) -> set[int]:
    """Steps that use, directly or not, the output of step ``start``."""
    tainted = {trace[start].output}
    out = set()
    for i in range(start + 1, len(trace)):
        if tainted & set(trace[i].inputs):
            out.add(i)
            tainted.add(trace[i].output)
    return out


def locate_fault(trace: Sequence[GateStep]) -> Fault | None:
    """The first wrong gate: going backward for gradients, else going forward for values.

    A gate is judged on the inputs and upstream gradient it actually received (the trace's
    ``forward_ok`` and ``backward_ok``), so a correct gate fed a wrong value is affected, not
    guilty.
    """
    trace = tuple(trace)
    true = _true_grads(trace)
    bad_back = [i for i, s in enumerate(trace) if s.upstream is not None and not s.backward_ok]
    if bad_back:
        guilty = max(bad_back)  # the backward pass meets the last gate first
        affected = {
            i for i, s in enumerate(trace)
            if i not in bad_back and i < guilty and s.upstream is not None
            and s.output in true and not _close(s.upstream, true[s.output])
        }
        return Fault(guilty, "backward", frozenset(bad_back), frozenset(affected), true)
    bad_fwd = [i for i, s in enumerate(trace) if not s.forward_ok]
    if bad_fwd:
        guilty = min(bad_fwd)
        affected = _descendants(trace, guilty) - set(bad_fwd)
        return Fault(guilty, "forward", frozenset(bad_fwd), frozenset(affected), true)
    return None


# --- diagnosis ----------------------------------------------------------------------------

# The lecture's ideas, in its own words where it has them.
IDEAS = {
    "chain": "the chain rule multiplies the upstream gradient by the local gradient",
    "upstream": "the chain rule multiplies the local gradient by the upstream gradient dout, "
                "so a gate never returns its local gradient alone",
    "sign": "check the sign of the local gradient, e.g. -1/x² for a 1/x gate",
    "add": "an add gate distributes the gradient equally to all its inputs",
    "mul": "a multiply gate switches: each input gets the upstream gradient times the other "
           "input",
    "max": "a max gate routes the gradient to the input that had the larger value",
    "either": "the chain rule is gradient = local gradient × upstream dout, so check both the "
              "sign of the local gradient and that dout is multiplied in",
    "exp": "the local gradient of e^x is e^x itself",
    "const": "adding a constant has local gradient 1, and a constant gets no gradient of its own",
    "scale": "the local gradient of a·x is a",
    "sigmoid": "the sigmoid gate's local gradient is (1 - σ(x)) σ(x), times the upstream",
    "fanout": "a value used in several places (every example of the batch uses W and b) "
              "collects the sum of their gradients: backward flows add",
    "shape": "a gradient has the shape of the value it is the gradient of",
    "relu": "ReLU is a max(0, x) gate: it routes dout to where its input x was positive, "
            "whatever the sign of dout",
    "reg": "the loss is data loss + regularization loss, and d(0.5·reg·ΣW²)/dW = reg·W",
    "cache": "each gate caches what its backward needs on itself in forward; a circuit holds "
             "many instances of one gate class",
    "inplace": "an add gate hands the same upstream gradient to all its inputs, so a gate "
               "that changes an array in place corrupts every other branch that holds it",
    "inplace-input": "a value can fan out to several gates and forward caches its inputs for "
                     "backward, so a gate must not change an array it was given",
    "vector": "vectorized operations do a whole layer at once, and the huge Jacobians are "
              "never formed: compute upstream × local gradient directly",
    "return": "the gradients a gate returns are what flows backward to the gates before it",
    "stable": "exp overflows for large inputs; compute σ and softmax from exp of numbers ≤ 0 "
              "(shift by the max)",
    "mean": "the loss is the mean over the batch, so each example's gradient carries a 1/N",
    "softmax": "the gradient of the softmax loss is the probabilities minus 1 at the correct "
               "class, divided by N",
    "svm": "each positive margin pushes the correct class score down by 1, so the correct "
           "class column gets minus the count of positive margins",
}


def _d(mistake: str, saw: str, idea: str) -> Diagnosis:
    return Diagnosis(mistake, saw, IDEAS.get(idea, idea))


def _arr(v: Any) -> np.ndarray | None:
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a


def _match(got: Any, pred: Any) -> bool:
    """got equals pred up to rounding (float32 included); a mistake's pattern is far away."""
    g, p = _arr(got), _arr(pred)
    if g is None or p is None or g.shape != p.shape or not np.all(np.isfinite(g)):
        return False
    scale = float(np.max(np.abs(p), initial=0.0))
    return bool(np.allclose(g, p, rtol=1e-4, atol=1e-4 * scale + 1e-12))


def _same_shape(*vals: Any) -> bool:
    arrs = [_arr(v) for v in vals]
    return all(a is not None for a in arrs) and len({a.shape for a in arrs}) == 1  # type: ignore[union-attr]


def _factor(got: Any, exp: Any) -> float | None:
    """k with got ≈ k × exp, if there is one (and exp is not all zeros)."""
    g, e = _arr(got), _arr(exp)
    if g is None or e is None or g.shape != e.shape or not np.all(np.isfinite(g)):
        return None
    ee = float(np.sum(e * e))
    if ee == 0:
        return None
    k = float(np.sum(g * e)) / ee
    return k if _match(g, k * e) else None


def _k(k: float) -> str:
    r = round(k)
    if abs(k - r) < 1e-3 * max(1, abs(k)):
        return str(int(r))
    inv = 1 / k if k else 0
    if k and abs(inv - round(inv)) < 1e-3 * max(1, abs(inv)):
        return f"1/{round(inv)}"
    return f"{k:.3g}"


def _round(k: float) -> bool:
    """k or 1/k is a whole number (up to 1000): a factor worth naming from one element."""
    return any(v and abs(v - round(v)) < 1e-6 * max(1.0, abs(v)) and abs(v) <= 1000
               for v in (k, 1 / k if k else 0.0))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _wrong(check: CheckResult, exp: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """The returned values that differ, in order (from the mismatches, else by comparison)."""
    names = list(dict.fromkeys(m.value for m in check.mismatches))
    if names:
        return [n for n in names if n in exp and n in got]
    return [n for n in exp if n in got and not _match(got[n], exp[n])]


def _all(names: Iterable[str], pred: Callable[[str], bool]) -> bool:
    names = list(names)
    return bool(names) and all(pred(n) for n in names)


def _list(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- gates (also used for the guilty gate of a circuit) -----------------------------------


def _gate_rules(gate: str, ins: dict[str, Any], const: float | None, dout: Any,
                exp: dict[str, Any], got: dict[str, Any], wrong: list[str]) -> Diagnosis | None:
    """Patterns of one gate's backward: ``ins`` by input name, ``exp``/``got`` by grad name."""
    if not wrong:
        return None
    d = _arr(dout)
    grads = list(exp)
    w = _list(wrong)
    if gate in ("ScaleGate", "AddConstGate") and const is not None and d is not None:
        n = grads[0]
        if gate == "ScaleGate" and const != 1 and _match(got[n], d):
            return _d("missing-local-gradient",
                      f"{n} is dout passed through unchanged, without the factor a = {const:g}",
                      "scale")
        if gate == "AddConstGate" and const != 1 and _match(got[n], const * d):
            return _d("constant-in-gradient",
                      f"{n} is dout times the constant c = {const:g}", "const")
    if gate == "ExpGate" and d is not None and _match(got["dx"], np.asarray(ins["x"]) * d):
        return _d("wrong-local-gradient", "dx is x × dout, as if the local gradient were x",
                  "exp")
    if gate == "SigmoidGate" and d is not None:
        s = _sigmoid(np.asarray(ins["x"], float))
        if _match(got["dx"], s * d) or _match(got["dx"], s):
            return _d("sigma-not-derivative",
                      "dx is σ(x) × dout, with σ where its derivative belongs", "sigmoid")
    if gate == "SigmoidNeuron" and d is not None:
        wv, xv = np.asarray(ins["w"], float), np.asarray(ins["x"], float)
        z = float(_sigmoid(np.asarray(wv[:-1] @ xv + wv[-1])))
        if 1 - z > 0 and _all(wrong, lambda n: _match(got[n], np.asarray(exp[n]) / (1 - z))):
            return _d("sigma-not-derivative",
                      f"{w} use{'s' if len(wrong) == 1 else ''} σ where its derivative "
                      "(1 - σ) σ belongs", "sigmoid")
    if len(grads) == 2 and _same_shape(*exp.values(), *got.values()):
        a, b = grads
        if _match(got[a], exp[b]) and _match(got[b], exp[a]) and not _match(exp[a], exp[b]):
            if gate == "MaxGate":
                return _d("routed-to-smaller", "the gradient went to the smaller input", "max")
            if gate == "MultiplyGate":
                x, y = (n[1:] for n in grads)
                return _d("inputs-swapped",
                          f"{a} got dout × {x} and {b} got dout × {y}, the inputs are swapped",
                          "mul")
            return _d("inputs-swapped", f"{a} and {b} are swapped", "chain")
    # a sign, or the upstream gradient never multiplied in (alike when dout = -1)
    flipped = _all(wrong, lambda n: _match(got[n], -np.asarray(exp[n], float)))
    if flipped and d is not None and _match(d, -np.ones_like(d)):
        return _d("sign-or-upstream", f"{w} {'is' if len(wrong) == 1 else 'are'} minus the "
                  "right gradient, and with dout = -1 in this example that is a flipped sign "
                  "or a missing upstream factor", "either")
    if d is not None and not _match(d, np.ones_like(d)) and _all(
        wrong, lambda n: _same_shape(got[n], exp[n]) and _match(np.asarray(got[n]) * d, exp[n])
    ):
        return _d("upstream-not-multiplied",
                  f"{w} {'is' if len(wrong) == 1 else 'are'} the local gradient alone, not "
                  "multiplied by the upstream gradient dout", "upstream")
    if flipped:
        return _d("sign-flipped", f"{w} {'has' if len(wrong) == 1 else 'have'} the right size "
                  "but the wrong sign", "sign")
    for n in wrong:
        g = _arr(got[n])
        if g is not None and g.shape == np.shape(exp[n]) and not g.any():
            idea = "add" if gate == "AddGate" else "chain"
            return _d("gradient-dropped", f"{n} is all zeros where a gradient flows", idea)
    return None


def _generic(check: CheckResult, exp: dict[str, Any], got: dict[str, Any], wrong: list[str],
             batch: int | None) -> Diagnosis | None:
    """Sign and constant factors, with a batch size N to recognise sums and means."""
    if not wrong:
        return None
    w = _list(wrong)
    s = "s" if len(wrong) == 1 else ""
    if _all(wrong, lambda n: _match(got[n], -np.asarray(exp[n], float))):
        return _d("sign-flipped", f"{w} {'has' if s else 'have'} the right size but the wrong "
                  "sign", "sign")
    found = [_factor(got[n], exp[n]) for n in wrong]
    ks = [k for k in found if k is not None]
    # Any two numbers have a ratio: a factor is only a finding when several elements share it
    # or it is a round number (2, 1/N, ...).
    nonzero = sum(int(np.count_nonzero(np.asarray(exp[n], float))) for n in wrong)
    if len(ks) == len(found) and len({_k(k) for k in ks}) == 1 and (
            nonzero >= 3 or _round(ks[0])):
        k = ks[0]
        if batch and batch > 1 and abs(k - batch) < 1e-3 * batch:
            return _d("not-averaged", f"{w} {'is' if s else 'are'} N = {batch} times too large, "
                      "summed over the batch where the mean belongs", "mean")
        if batch and batch > 1 and abs(k * batch - 1) < 1e-3:
            return _d("averaged-not-summed", f"{w} {'is' if s else 'are'} divided by "
                      f"N = {batch}, averaged over the batch where the sum belongs", "fanout")
        if abs(k - 1) > 1e-3:
            return _d("constant-factor", f"{w} {'is' if s else 'are'} off by a constant factor "
                      f"of {_k(k)}", "chain")
    return None


# --- by category --------------------------------------------------------------------------


def _example(check: CheckResult) -> dict[str, Any]:
    return dict(check.example or {})


def _gate_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
                got: dict[str, Any]) -> Diagnosis | None:
    from bpverify.contract import GATES

    spec = GATES.get(item.name)
    if spec is None:
        return None
    ex = _example(check)
    wrong = _wrong(check, exp, got)
    if check.name == "forward" or list(exp) == ["out"]:
        return _generic(check, exp, got, wrong, None)
    ins = {n: ex.get(n) for n in spec.inputs}
    const = ex.get(spec.const) if spec.const else None
    return (_gate_rules(item.name, ins, const, ex.get("dout"), exp, got, wrong)
            or _generic(check, exp, got, wrong, None))


def _layer_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
                 got: dict[str, Any]) -> Diagnosis | None:
    ex = _example(check)
    wrong = _wrong(check, exp, got)
    x = _arr(ex.get("x"))
    dout = _arr(ex.get("dout"))
    n = int(x.shape[0]) if x is not None and x.ndim else None
    if item.name.startswith("affine"):
        if "out" in wrong and _match(got["out"], np.asarray(exp["out"]) - np.asarray(ex["b"])):
            return _d("missing-bias", "out is missing b in every row", "the affine layer "
                      "computes x·W + b, and b is added to every example")
        if "db" in wrong and dout is not None and n and n > 1:
            first, mean = _match(got["db"], dout[0]), _match(got["db"], dout.mean(axis=0))
            if first and mean:
                return _d("not-summed-over-batch", "db is 1/N of the sum over the batch (the "
                          "mean of dout, here equal to its first row), not the sum", "fanout")
            if first:
                return _d("not-summed-over-batch", "db is dout[0], the first example's gradient "
                          "only, not the sum over the batch", "fanout")
        e_dw, g_dw = _arr(exp.get("dw")), _arr(got.get("dw"))
        if ("dw" in wrong and e_dw is not None and g_dw is not None and e_dw.ndim == 2
                and _match(g_dw, e_dw.T)):
            return _d("transposed", "dw is the transpose of the right gradient", "shape")
    if item.name == "relu_backward" and x is not None and dout is not None:
        g = got.get("dx")
        if _match(g, np.where(dout > 0, dout, 0.0)):
            return _d("relu-mask-from-dout", "dx keeps dout where dout > 0 instead of where "
                      "x > 0, so the mask came from dout", "relu")
        if _match(g, (x > 0).astype(float)):
            return _d("upstream-not-multiplied", "dx is the 0/1 mask alone, not multiplied by "
                      "dout", "upstream")
    if item.name.endswith("backward") and dout is not None:
        for name in wrong:
            if _same_shape(got[name], exp[name], dout) and _match(
                    np.asarray(got[name]) * dout, exp[name]) and not _match(dout, 1.0 + 0 * dout):
                return _d("upstream-not-multiplied", f"{name} is the local gradient alone, not "
                          "multiplied by dout", "upstream")
    return _generic(check, exp, got, wrong, n)


def _softmax_probs(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _svm_loss(scores: np.ndarray, y: np.ndarray, delta: float) -> float:
    rows = np.arange(len(y))
    m = np.maximum(0.0, scores - scores[rows, y][:, None] + delta)
    m[rows, y] = 0.0
    return float(m.sum() / len(y))


def _loss_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
                got: dict[str, Any]) -> Diagnosis | None:
    ex = _example(check)
    scores = _arr(ex.get("scores"))
    y = _arr(ex.get("y"))
    wrong = _wrong(check, exp, got)
    if scores is None or y is None or scores.ndim != 2:
        return _generic(check, exp, got, wrong, None)
    n = scores.shape[0]
    labels = y.astype(int)
    rows = np.arange(n)
    if "dscores" in wrong:
        g, e = np.asarray(got["dscores"], float), np.asarray(exp["dscores"], float)
        onehot = np.zeros_like(e)
        onehot[rows, labels] = 1.0
        if item.name == "softmax_loss" and _match(g - e, onehot / n):
            return _d("missing-minus-one", "dscores is the probabilities divided by N, without "
                      "the -1 at the correct class", "softmax")
        if item.name == "svm_loss" and g.shape == e.shape:
            off = onehot.astype(bool)
            if _match(g[~off], e[~off]) and not np.any(g[off]) and np.any(e[off]):
                return _d("missing-correct-class", "dscores is right except at the correct "
                          "class, where it is 0", "svm")
    if ("loss" in wrong and item.name == "svm_loss"
            and _match(got["loss"], _svm_loss(scores, labels, 0.0))):
        return _d("margin-zero", "the loss is the hinge loss with margin 0", "the SVM wants the "
                  "correct class to win by a margin of 1: max(0, s_j - s_y + 1)")
    return _generic(check, exp, got, wrong, n)


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


def _net_check(check: CheckResult, item: ItemResult, exp: dict[str, Any],
               got: dict[str, Any]) -> Diagnosis | None:
    ex = _example(check)
    wrong = _wrong(check, exp, got)
    params = {k: np.asarray(v, float) for k, v in dict(ex.get("params") or {}).items()}
    reg = float(ex.get("reg") or 0.0)
    if not params or not wrong:
        return _generic(check, exp, got, wrong, None)
    weights = [k for k in params if k.startswith("W")]
    biases = [k for k in params if k.startswith("b")]
    if "loss" in wrong and reg:
        r = 0.5 * reg * sum(float(np.sum(params[k] ** 2)) for k in weights)
        rb = 0.5 * reg * sum(float(np.sum(params[k] ** 2)) for k in biases)
        gl, el = float(np.squeeze(got["loss"])), float(np.squeeze(exp["loss"]))
        if _match(gl, el - r):
            return _d("missing-regularization", "the loss leaves out the regularization "
                      "term 0.5·reg·ΣW²", "reg")
        if _match(gl, el + r):
            return _d("regularization-factor", "the loss adds reg·ΣW², twice the "
                      "regularization term 0.5·reg·ΣW²", "reg")
        if rb and _match(gl, el + rb):
            return _d("regularized-biases", "the loss also regularizes the biases",
                      "only the weights W are regularized, so only the 0.5·reg·ΣW² term enters")
    if reg and any(k in wrong for k in weights + biases):
        gw = [k for k in weights if k in wrong]
        if gw and _all(gw, lambda k: _match(got[k], np.asarray(exp[k]) - reg * params[k])):
            return _d("missing-regularization", f"{_list(gw)} leave{'s' if len(gw) == 1 else ''}"
                      " out the regularization gradient reg·W", "reg")
        if gw and _all(gw, lambda k: _match(got[k], np.asarray(exp[k]) + reg * params[k])):
            return _d("regularization-factor", f"{_list(gw)} add{'s' if len(gw) == 1 else ''} "
                      "2·reg·W, the gradient of reg·ΣW² instead of 0.5·reg·ΣW²", "reg")
        gb = [k for k in biases if k in wrong]
        if gb and _all(gb, lambda k: _match(got[k], np.asarray(exp[k]) + reg * params[k])):
            return _d("regularized-biases", f"{_list(gb)} include reg·b", "only the weights W "
                      "are regularized, so the biases get no reg term")
    X, y = _arr(ex.get("X")), _arr(ex.get("y"))
    if X is not None and y is not None and set(weights + biases) <= set(got):
        try:
            skip = _net_grads(params, X, y.astype(int), reg, relu_mask=False)
        except (ValueError, KeyError, IndexError):
            skip = {}
        if skip and all(_match(got[k], skip[k]) for k in wrong):
            return _d("relu-backward-skipped", f"{_list(wrong)} match a backward pass that "
                      "skips relu_backward between the layers", "relu")
    return _generic(check, exp, got, wrong, X.shape[0] if X is not None and X.ndim else None)


def _circuit_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    from bpverify.contract import CIRCUITS

    fault = locate_fault(check.trace)
    if fault is None:
        return None
    s = check.trace[fault.index]
    where = f"The {s.label} gate ({s.gate}, computing {s.output}) is the first wrong one"
    if fault.direction == "forward":
        k = _factor(s.output_value, s.expected_output)
        saw = (f"its output {s.output} = {s.output_value:.4g} should be "
               f"{s.expected_output:.4g}")
        if k is not None and abs(k + 1) < 1e-4:
            saw += ", the sign is flipped"
        return Diagnosis("wrong-forward", f"{where}: {saw}",
                         "each gate computes its output from its inputs alone, so every gate "
                         "after it works with that wrong value")
    spec = CIRCUITS.get(item.name)
    const = spec.nodes[fault.index].const if spec and fault.index < len(spec.nodes) else None
    from bpverify.contract import GATES

    gspec = GATES[s.gate]
    names = [f"d{w}" for w in s.inputs]
    if len(s.grads) != len(names):
        return None
    exp = dict(zip(gspec.grads, s.expected_grads))
    got = dict(zip(gspec.grads, s.grads))
    wrong = [n for n in gspec.grads if not _match(got[n], exp[n])]
    # shared state: it returned what another instance of its class should have returned
    for t in check.trace:
        if t is not s and t.gate == s.gate and t.input_values != s.input_values and all(
            _match(g, lg * s.upstream) for g, lg in zip(s.grads, t.local_grads)
        ):
            return _d("shared-state", f"{where} going backward: it returned the gradient for "
                      f"the inputs of the other {s.gate} ({', '.join(t.inputs)}), so the "
                      "instances share one cache", "cache")
    ins = dict(zip(gspec.inputs, s.input_values))
    found = _gate_rules(s.gate, ins, const, s.upstream, exp, got, wrong)
    if found is None:
        found = _generic(check, exp, got, wrong, None)
    if found is None:
        return Diagnosis("wrong-gate", f"{where} going backward: given upstream "
                         f"{s.upstream:.4g} it returned "
                         f"({', '.join(f'{g:.4g}' for g in s.grads)}), expected "
                         f"({', '.join(f'{g:.4g}' for g in s.expected_grads)})",
                         IDEAS["chain"])
    # the gate's own names (dx, y) -> the circuit's wires (dq, z), in one pass
    rename = dict(zip(gspec.grads, names)) | dict(zip(gspec.inputs, s.inputs))
    saw = re.sub(r"\b(" + "|".join(map(re.escape, rename)) + r")\b",
                 lambda m: rename[m.group(1)], found.saw)
    return Diagnosis(found.mistake, f"{where} going backward: {saw}", found.idea)


# --- shape, contract and run-time failures ------------------------------------------------

_SHAPE = re.compile(r"returned (\S+) of shape (\([^)]*\)); expected shape (\([^)]*\))")
_COUNT = re.compile(r"returned (?:tuple|list) of (\d+) values; expected (\d+)")


def _shape_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    import ast

    m = _SHAPE.search(check.message)
    if not m:
        return None
    name = m.group(1)
    got, exp = ast.literal_eval(m.group(2)), ast.literal_eval(m.group(3))
    if len(got) == 2 and tuple(reversed(got)) == tuple(exp) and got != exp:
        return _d("transposed", f"{name} has shape {got}, the transpose of {exp}", "shape")
    if len(got) == len(exp) + 1 and tuple(got[1:]) == tuple(exp):
        what = "per-example losses" if name == "loss" else f"one {name} per example"
        return _d("not-summed-over-batch", f"{name} has shape {got}: {what}, not reduced over "
                  "the batch", "mean" if name == "loss" else "fanout")
    if item.name == "SigmoidNeuron" and name == "dw" and len(got) == 1 and got[0] + 1 == exp[0]:
        return _d("missing-bias-gradient", "dw has no entry for the bias w[D]",
                  "the bias enters through an add gate, which distributes the gradient "
                  "to it too")
    if np.prod(got, dtype=int) == np.prod(exp, dtype=int):
        return _d("not-reshaped", f"{name} has shape {got}, the right size but not the shape "
                  f"{exp}; reshape it", "shape")
    return None


def _contract_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    msg = check.message
    if "returned None" in msg and "return statement" in msg:
        return _d("no-return", "backward returned None, so its return statement is missing",
                  "return")
    m = _COUNT.search(msg)
    if m:
        k, n = int(m.group(1)), int(m.group(2))
        return _d("wrong-count", f"backward returned {k} gradients for {n} input"
                  f"{'s' if n != 1 else ''}, where a gate returns one per input of forward",
                  "const" if item.name == "AddConstGate" else "return")
    if item.category == "net" and check.name == "scores" and "loss(X)" in msg:
        return _no_scores()
    if "returned grads without" in msg:
        return _d("wrong-keys", "grads is missing keys of params", "grads[k] is the gradient "
                  "of params[k], under the same key (\"W1\", not \"dW1\")")
    return None


def _raised_check(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    msg = check.message
    if "truth value of an array" in msg:
        return _d("python-max-on-arrays", "Python's max or an if compared whole arrays",
                  "a max gate works element by element, with np.maximum(x, y) forward and "
                  "np.where to route the gradient")
    if item.category == "net" and check.name == "scores" and "loss(X)" in msg:
        return _no_scores()
    return None


def _no_scores() -> Diagnosis:
    return _d("no-scores-branch", "loss(X) without labels did not return the scores",
              "loss(X) is the forward pass alone, so return the scores when y is None")


def _resource(check: CheckResult) -> Diagnosis | None:
    text = f"{check.kind} {check.message}".lower()
    if "timed out" in text or "timeout" in check.kind:
        return _d("timeout", "the code ran past the time limit on a small example, likely a "
                  "Python loop over elements or one that never ends", "vector")
    if "memory" in text:
        return _d("memory", "the code used more memory than allowed, likely by building a "
                  "huge intermediate array such as a full Jacobian", "vector")
    return None


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The recognised mistake behind a failed ``check`` of ``item``, or None."""
    if check.status != "failed":
        return None
    found = _resource(check)
    if found:
        return found
    kind = check.kind
    if kind == "mutates-input":
        what = next(iter(check.expected or {}), "an input")
        return _d("mutates-input", f"{what} was changed in place",
                  "inplace" if what == "dout" else "inplace-input")
    if kind == "shared-state":
        backward = next((c for c in item.checks if c.name == "backward"), None)
        if backward is not None and backward is not check and backward.status == "failed":
            # checks.py reports every wrong gradient of the two-instance run as shared state;
            # when backward is wrong on its own, that is the mistake to name.
            return diagnose(backward, item)
        return _d("shared-state", "two instances forwarded before either ran backward "
                  "disturbed each other, so state lives on the class or in a global", "cache")
    if kind == "not-finite" or (kind == "wrong-values" and _has_nonfinite(check.got)):
        return _d("overflow", "it returned nan or inf for large inputs", "stable")
    if kind == "wrong-shape":
        return _shape_check(check, item)
    if kind == "bad-return":
        return _contract_check(check, item)
    if kind == "raised":
        return _raised_check(check, item)
    if kind == "numerical" and check.mismatches:
        # Centred differences record only the differing elements; the oracle's check of the
        # same item sees whole arrays and the example's N, so its diagnosis comes first.
        oracle = next((c for c in item.checks if c.status == "failed"
                       and c.name in ("backward", "gradient", "gradients")), None)
        found = diagnose(oracle, item) if oracle is not None else None
        if found is not None:
            return found
        exp = {f"{m.value}{list(m.index)}": m.expected for m in check.mismatches}
        got = {f"{m.value}{list(m.index)}": m.got for m in check.mismatches}
        names = list(dict.fromkeys(m.value for m in check.mismatches))
        d = _generic(check, exp, got, list(exp), None)
        if d is not None:
            return Diagnosis(d.mistake, d.saw.replace(_list(list(exp)), _list(names), 1), d.idea)
        return None
    if kind != "wrong-values":
        return None
    if check.trace:
        found = _circuit_check(check, item)
        if found is not None and found.mistake == "sign-or-upstream":
            # The lecture's values feed other upstream gradients: they may tell the two apart.
            other = next((c for c in item.checks if c is not check and c.trace
                          and c.status == "failed"), None)
            better = _circuit_check(other, item) if other is not None else None
            if (better is not None and better.mistake != "sign-or-upstream"
                    and better.saw.split(":")[0] == found.saw.split(":")[0]):
                return better
        return found
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if not exp or not got:
        return None
    by_category = {"gate": _gate_check, "layer": _layer_check, "loss": _loss_check,
                   "net": _net_check}
    rule = by_category.get(item.category)
    return rule(check, item, exp, got) if rule else None


def diagnosis_line(check: CheckResult, item: ItemResult, *,
                   prefix: str = "diagnosis: ") -> str:
    """``prefix`` and the hint when there is one, else "": a one-line hook for text outputs."""
    found = diagnose(check, item)
    return f"{prefix}{found.text}" if found is not None else ""


def _has_nonfinite(values: dict[str, Any] | None) -> bool:
    for v in (values or {}).values():
        a = _arr(v)
        if a is not None and a.size and not np.all(np.isfinite(a)):
            return True
    return False
