"""Patterns of numbers: the value-level signatures of classic backpropagation mistakes.

Each rule compares what a submission returned (``got``) with what the oracle expected
(``exp``), both by value name, and recognises a mistake when ``got`` equals what that mistake
would have produced.  ``match`` is the one test of "equals" (the closeness rule's "pattern"
tolerance); ratios and signs are read from the numbers, never from a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from bpverify.closeness import close
from bpverify.feedback.mistakes import found
from bpverify.model import CheckResult, Diagnosis

__all__ = [
    "all_of",
    "arr",
    "factor",
    "gate_rules",
    "generic",
    "match",
    "name_list",
    "same_shape",
    "sigmoid",
    "wrong_values",
]


def arr(v: Any) -> np.ndarray | None:
    """v as a float64 array, or None when it is not numbers."""
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return a


def match(got: Any, pred: Any) -> bool:
    """got equals pred up to rounding (float32 included); a mistake's pattern is far away.

    The closeness table's "pattern" entry says why its tolerance is looser than grading's.
    """
    g = arr(got)
    return g is not None and bool(np.all(np.isfinite(g))) and close(g, pred, "pattern")


def same_shape(*vals: Any) -> bool:
    """Every value is numbers, all of one shape."""
    arrs = [arr(v) for v in vals]
    return all(a is not None for a in arrs) and len({a.shape for a in arrs}) == 1  # type: ignore[union-attr]


def factor(got: Any, exp: Any) -> float | None:
    """k with got ≈ k × exp, if there is one (and exp is not all zeros)."""
    g, e = arr(got), arr(exp)
    if g is None or e is None or g.shape != e.shape or not np.all(np.isfinite(g)):
        return None
    ee = float(np.sum(e * e))
    if ee == 0:
        return None
    k = float(np.sum(g * e)) / ee
    return k if match(g, k * e) else None


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


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) without overflow."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def wrong_values(check: CheckResult, exp: dict[str, Any],
                 got: dict[str, Any]) -> list[str]:
    """The returned values that differ, in order (from the mismatches, else by comparison)."""
    names = list(dict.fromkeys(m.value for m in check.mismatches))
    if names:
        return [n for n in names if n in exp and n in got]
    return [n for n in exp if n in got and not match(got[n], exp[n])]


def all_of(names: Iterable[str], pred: Callable[[str], bool]) -> bool:
    """At least one name, and ``pred`` holds for each."""
    names = list(names)
    return bool(names) and all(pred(n) for n in names)


def name_list(names: Sequence[str]) -> str:
    """"dx", "dx and dy", "dW1, dW2 and db2"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]



# --- gates (also used for the guilty gate of a circuit) -----------------------------------


def gate_rules(gate: str, ins: dict[str, Any], const: float | None, dout: Any,
               exp: dict[str, Any], got: dict[str, Any], wrong: list[str], *,
               say: Mapping[str, str] | None = None) -> Diagnosis | None:
    """Patterns of one gate's backward: ``ins`` by input name, ``exp``/``got`` by grad name.

    ``say`` maps the gate's own names (x, dx) to the words the sentence uses for them (a
    circuit's wires q, dq); a name it does not map is said as it is.
    """
    if not wrong:
        return None
    names = dict(say or {})

    def s(name: str) -> str:
        return names.get(name, name)

    d = arr(dout)
    grads = list(exp)
    w = name_list([s(n) for n in wrong])
    if gate in ("ScaleGate", "AddConstGate") and const is not None and d is not None:
        n = grads[0]
        if gate == "ScaleGate" and const != 1 and match(got[n], d):
            return found("missing-local-gradient",
                         f"{s(n)} is dout passed through unchanged, without the factor a = "
                         f"{const:g}", subject=s(n))
        if gate == "AddConstGate" and const != 1 and match(got[n], const * d):
            return found("constant-in-gradient", f"{s(n)} is dout times the constant c = "
                         f"{const:g}", subject=s(n))
    dx, x = s("dx"), s("x")
    if gate == "ExpGate" and d is not None and match(got["dx"], np.asarray(ins["x"]) * d):
        return found("wrong-local-gradient", f"{dx} is {x} × dout, as if the local gradient "
                     f"were {x}", subject=dx)
    if gate == "SigmoidGate" and d is not None:
        sig = sigmoid(np.asarray(ins["x"], float))
        if match(got["dx"], sig * d) or match(got["dx"], sig):
            return found("sigma-not-derivative",
                         f"{dx} is σ({x}) × dout, with σ where its derivative belongs",
                         subject=dx)
    if gate == "SigmoidNeuron" and d is not None:
        wv, xv = np.asarray(ins["w"], float), np.asarray(ins["x"], float)
        z = float(sigmoid(np.asarray(wv[:-1] @ xv + wv[-1])))
        if 1 - z > 0 and all_of(wrong, lambda n: match(got[n], np.asarray(exp[n]) / (1 - z))):
            return found("sigma-not-derivative",
                         f"{w} use{'s' if len(wrong) == 1 else ''} σ where its derivative "
                         "(1 - σ) σ belongs", subject=w)
    if len(grads) == 2 and same_shape(*exp.values(), *got.values()):
        a, b = grads
        if match(got[a], exp[b]) and match(got[b], exp[a]) and not match(exp[a], exp[b]):
            if gate == "MaxGate":
                return found("routed-to-smaller", "the gradient went to the smaller input")
            if gate == "MultiplyGate":
                x, y = (s(n[1:]) for n in grads)
                return found("inputs-swapped", f"{s(a)} got dout × {x} and {s(b)} got dout × "
                             f"{y}, the inputs are swapped", idea="mul", subject=s(a))
            return found("inputs-swapped", f"{s(a)} and {s(b)} are swapped",
                         subject=f"{s(a)} and {s(b)}")
    # a sign, or the upstream gradient never multiplied in (alike when dout = -1)
    flipped = all_of(wrong, lambda n: match(got[n], -np.asarray(exp[n], float)))
    if flipped and d is not None and match(d, -np.ones_like(d)):
        return found("sign-or-upstream", f"{w} {'is' if len(wrong) == 1 else 'are'} minus the "
                     "right gradient, and with dout = -1 in this example that is a flipped sign "
                     "or a missing upstream factor", subject=w)
    if d is not None and not match(d, np.ones_like(d)) and all_of(
        wrong, lambda n: same_shape(got[n], exp[n]) and match(np.asarray(got[n]) * d, exp[n])
    ):
        return found("upstream-not-multiplied",
                     f"{w} {'is' if len(wrong) == 1 else 'are'} the local gradient alone, not "
                     "multiplied by the upstream gradient dout", subject=w)
    if flipped:
        return found("sign-flipped", f"{w} {'has' if len(wrong) == 1 else 'have'} the right "
                     "size but the wrong sign", subject=w)
    for n in wrong:
        g = arr(got[n])
        if g is not None and g.shape == np.shape(exp[n]) and not g.any():
            idea = "add" if gate == "AddGate" else "chain"
            return found("gradient-dropped", f"{s(n)} is all zeros where a gradient flows",
                         idea=idea, subject=s(n))
    return None


def generic(exp: dict[str, Any], got: dict[str, Any], wrong: list[str], batch: int | None,
            *, says: str | None = None) -> Diagnosis | None:
    """Sign and constant factors, with a batch size N to recognise sums and means.

    ``says`` is how the sentence names the wrong values (default: their names).
    """
    if not wrong:
        return None
    w = name_list(wrong) if says is None else says
    s = "s" if len(wrong) == 1 else ""
    if all_of(wrong, lambda n: match(got[n], -np.asarray(exp[n], float))):
        return found("sign-flipped", f"{w} {'has' if s else 'have'} the right size but the "
                     "wrong sign", subject=w)
    factors = [factor(got[n], exp[n]) for n in wrong]
    ks = [k for k in factors if k is not None]
    # Any two numbers have a ratio: a factor is only a finding when several elements share it
    # or it is a round number (2, 1/N, ...).
    nonzero = sum(int(np.count_nonzero(np.asarray(exp[n], float))) for n in wrong)
    if len(ks) == len(factors) and len({_k(k) for k in ks}) == 1 and (
            nonzero >= 3 or _round(ks[0])):
        k = ks[0]
        if batch and batch > 1 and abs(k - batch) < 1e-3 * batch:
            return found("not-averaged", f"{w} {'is' if s else 'are'} N = {batch} times too "
                         "large, summed over the batch where the mean belongs", subject=w)
        if batch and batch > 1 and abs(k * batch - 1) < 1e-3:
            return found("averaged-not-summed", f"{w} {'is' if s else 'are'} divided by "
                         f"N = {batch}, averaged over the batch where the sum belongs", subject=w)
        if abs(k - 1) > 1e-3:
            return found("constant-factor", f"{w} {'is' if s else 'are'} off by a constant "
                         f"factor of {_k(k)}", subject=w)
    return None

