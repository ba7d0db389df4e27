"""The catalogue of recognised mistakes: one id each, its lecture idea and its class-summary phrase.

A mistake's id is the one name every part of bpverify uses for it: :func:`diagnose` stores it
on a failed check, the class summary counts it and says its phrase ("31% did not sum db over
the batch"), and it points to the lecture's idea that fixes it.  An id that is not here cannot
be diagnosed (:func:`found` raises KeyError), so a new rule needs its entry first.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from bpverify import registry
from bpverify.model import Diagnosis

__all__ = ["IDEAS", "MISTAKES", "KnownMistake", "add_families", "found", "phrase"]

# The lecture's ideas, in its own words where it has them.
IDEAS: dict[str, str] = {
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
    "affine": "the affine layer computes x·W + b, and b is added to every example",
    "bias-gate": "the bias enters through an add gate, which distributes the gradient to it too",
    "hinge": "the SVM wants the correct class to win by a margin of 1: max(0, s_j - s_y + 1)",
    "weights-only-loss": "only the weights W are regularized, so only the 0.5·reg·ΣW² term "
                         "enters",
    "weights-only-grad": "only the weights W are regularized, so the biases get no reg term",
    "grads-keys": "grads[k] is the gradient of params[k], under the same key (\"W1\", not "
                  "\"dW1\")",
    "elementwise-max": "a max gate works element by element, with np.maximum(x, y) forward "
                       "and np.where to route the gradient",
    "numpy-scalar": "take the element out first, a.item() or a[0]: numpy 2 no longer turns "
                    "a one-element array into a number (numpy 1.25 only warned)",
    "scores": "loss(X) is the forward pass alone, so return the scores when y is None",
    "forward-order": "each gate computes its output from its inputs alone, so every gate "
                     "after it works with that wrong value",
}


@dataclass(frozen=True)
class KnownMistake:
    """One entry of the catalogue."""

    id: str  #: e.g. "not-summed-over-batch"
    idea: str  #: the key in :data:`IDEAS` of the idea that fixes it (a rule may name another)
    #: What the class summary says after "31% ..."; ``{what}`` is the values its diagnoses
    #: named ("db", "dW1 and dW2").
    phrase: str
    default: str = ""  #: ``{what}`` when the diagnoses name none, or too many


MISTAKES: dict[str, KnownMistake] = {
    m.id: m
    for m in (
        KnownMistake("not-summed-over-batch", "fanout", "did not sum {what} over the batch",
                     "the gradient"),
        KnownMistake("not-averaged", "mean", "did not divide {what} by the batch size N",
                     "the gradient"),
        KnownMistake("averaged-not-summed", "fanout",
                     "averaged {what} over the batch where the sum belongs", "the gradient"),
        KnownMistake("constant-factor", "chain", "had {what} off by a constant factor",
                     "a gradient"),
        KnownMistake("sign-flipped", "sign", "flipped the sign of {what}", "a gradient"),
        KnownMistake("sign-or-upstream", "either",
                     "flipped a sign or left out the upstream gradient"),
        KnownMistake("upstream-not-multiplied", "upstream",
                     "did not multiply {what} by the upstream gradient dout",
                     "the local gradient"),
        KnownMistake("inputs-swapped", "chain", "swapped the inputs' gradients"),
        KnownMistake("routed-to-smaller", "max",
                     "routed the max gate's gradient to the smaller input"),
        KnownMistake("missing-local-gradient", "scale",
                     "passed dout through without the gate's factor"),
        KnownMistake("constant-in-gradient", "const",
                     "multiplied the gradient by the added constant"),
        KnownMistake("wrong-local-gradient", "exp", "used x instead of e^x as exp's local "
                     "gradient"),
        KnownMistake("sigma-not-derivative", "sigmoid",
                     "used σ where its derivative (1 - σ)σ belongs"),
        KnownMistake("gradient-dropped", "chain", "returned an all-zero {what}", "gradient"),
        KnownMistake("missing-bias", "affine", "left the bias b out of the forward pass"),
        KnownMistake("missing-bias-gradient", "bias-gate", "left the bias out of dw"),
        KnownMistake("transposed", "shape", "transposed {what}", "a gradient"),
        KnownMistake("not-reshaped", "shape", "did not reshape {what} to its input's shape",
                     "a gradient"),
        KnownMistake("relu-mask-from-dout", "relu", "took ReLU's mask from dout instead of x"),
        KnownMistake("relu-backward-skipped", "relu",
                     "skipped relu_backward between the layers"),
        KnownMistake("missing-minus-one", "softmax", "left out the -1 at the correct class"),
        KnownMistake("missing-correct-class", "svm", "gave the correct class no gradient"),
        KnownMistake("margin-zero", "hinge", "used a hinge margin of 0 instead of 1"),
        KnownMistake("missing-regularization", "reg", "left the regularization out of {what}",
                     "the loss or its gradients"),
        KnownMistake("regularization-factor", "reg",
                     "regularized with reg·ΣW² instead of 0.5·reg·ΣW²"),
        KnownMistake("regularized-biases", "weights-only-grad", "also regularized the biases"),
        KnownMistake("mutates-input", "inplace-input", "changed {what} in place", "an input"),
        KnownMistake("shared-state", "cache",
                     "kept state on the class or in a global, shared by instances"),
        KnownMistake("overflow", "stable",
                     "returned nan or inf for large inputs (not numerically stable)"),
        KnownMistake("timeout", "vector", "ran past the time limit"),
        KnownMistake("memory", "vector", "ran out of memory"),
        KnownMistake("no-return", "return", "left out backward's return statement"),
        KnownMistake("wrong-count", "return", "returned the wrong number of gradients"),
        KnownMistake("wrong-keys", "grads-keys", "returned grads under keys other than params'"),
        KnownMistake("array-to-scalar", "numpy-scalar",
                     "took int() or float() of a one-element array"),
        KnownMistake("python-max-on-arrays", "elementwise-max",
                     "used Python's max or if on whole arrays"),
        KnownMistake("no-scores-branch", "scores",
                     "did not return the scores from loss(X) without labels"),
        KnownMistake("wrong-forward", "forward-order",
                     "computed a wrong value in a gate of the circuit"),
        KnownMistake("wrong-gate", "chain", "had a gate of the circuit return wrong gradients"),
    )
}

#: More distinct values than this under one mistake are summed up by its default noun.
_MAX_WHATS = 3


@functools.cache
def add_families() -> None:
    """Add every registered family's ``IDEAS`` and ``MISTAKES`` (a dict and a tuple of
    :class:`KnownMistake` in its feedback module) to the catalogue, then check that every
    mistake points to an idea there is."""
    modules = registry.feedback_modules()
    for module in modules:
        IDEAS.update(getattr(module, "IDEAS", {}))
    for module in modules:
        for mistake in getattr(module, "MISTAKES", ()):
            if MISTAKES.get(mistake.id, mistake) != mistake:
                raise ValueError(f"mistake {mistake.id!r} of {module.__name__} is already in "
                                 "the catalogue")
            MISTAKES[mistake.id] = mistake
    for mistake in MISTAKES.values():
        if mistake.idea not in IDEAS:
            raise ValueError(f"mistake {mistake.id!r} points to idea {mistake.idea!r}; "
                             f"expected one of {', '.join(IDEAS)}")


def found(mistake: str, saw: str, *, idea: str | None = None, subject: str = "") -> Diagnosis:
    """The diagnosis of catalogue mistake ``mistake``: what was seen, and its idea (by key).

    ``subject`` is the value(s) ``saw`` is about, as it names them ("db", "dW1 and dW2").
    """
    add_families()
    entry = MISTAKES[mistake]
    return Diagnosis(mistake, saw, IDEAS[idea or entry.idea], subject)


def phrase(mistake: str, whats: Sequence[str]) -> str:
    """The mistake's summary phrase with the values a class's diagnoses named; the id if unknown."""
    add_families()
    entry = MISTAKES.get(mistake)
    if entry is None:
        return mistake
    if "{what}" not in entry.phrase:
        return entry.phrase
    named = [("the loss" if w == "loss" else w) for w in whats]
    what = " or ".join(named) if 0 < len(named) <= _MAX_WHATS else entry.default
    return entry.phrase.format(what=what)
