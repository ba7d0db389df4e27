"""Diagnoses of FullyConnectedNet, read from the blame its checks store in the facts: the
guilty layer call (``where``) and the value it got wrong (``value``), or the net's own fault
(``where`` = "FullyConnectedNet.loss"): the mode it set, the L2 term, a gradient's key."""

from __future__ import annotations

from bpverify.families.normalization.contract import NET_TRACED
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["IDEAS", "MISTAKES", "diagnose_net"]

_NET = "FullyConnectedNet.loss"

IDEAS: dict[str, str] = {
    "fcnet-blame": "a net is a chain of layers, each right on its own inputs: the first layer "
                   "call that is wrong on the values the net gave it is the one to fix",
    "fcnet-norm-params": "gamma and beta are parameters like W and b: each layer's "
                         "normalization backward returns dgamma and dbeta, stored in "
                         "grads['gamma1'], grads['beta1'], ...",
    "fcnet-modes": "loss(X) is test time: the net sets mode = 'test' in dropout_param and in "
                   "every bn_param, so dropout is off and batch norm uses its running averages",
    "fcnet-weights-only": "only the weights W are regularized: gamma and beta, like the "
                          "biases, stay out of 0.5·reg·ΣW²",
    "fcnet-chain": "backward walks the layers in reverse: each backward call gets the dx of "
                   "the call after it (softmax_loss's for the last affine layer), and no "
                   "layer's backward is skipped: a ReLU's zeroes the gradient where x <= 0",
    "fcnet-grads": "grads[k] is what the backward call of that layer returned (plus reg·W for "
                   "a weight), under the key of params",
}
MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("fcnet-guilty-layer", "fcnet-blame",
                 "wrote a layer function that is wrong inside FullyConnectedNet ({what})",
                 "a layer call"),
    KnownMistake("fcnet-norm-grads-missing", "fcnet-norm-params",
                 "left gamma and beta's gradients out of FullyConnectedNet's grads"),
    KnownMistake("fcnet-dropout-at-test", "fcnet-modes",
                 "left dropout on at test time in FullyConnectedNet"),
    KnownMistake("fcnet-bn-train-at-test", "fcnet-modes",
                 "ran batch norm in train mode at test time in FullyConnectedNet"),
    KnownMistake("fcnet-regularizes-gamma", "fcnet-weights-only",
                 "regularized gamma and beta in FullyConnectedNet"),
    KnownMistake("fcnet-chain", "fcnet-chain",
                 "broke FullyConnectedNet's backward chain ({what})", "a layer's upstream"),
    KnownMistake("fcnet-grads-wiring", "fcnet-grads",
                 "stored a gradient of FullyConnectedNet other than its layer's ({what})",
                 "grads"),
)


def _blamed(check: CheckResult) -> Diagnosis | None:
    f = check.facts
    if f.where in NET_TRACED:
        return found("fcnet-guilty-layer", f"{f.where} is the first call that is wrong on the "
                     f"values the net gave it ({f.value} differs)", subject=f.where)
    if check.kind == "bad-return" and f.missing_keys and all(
            k.startswith(("gamma", "beta")) for k in f.missing_keys):
        return found("fcnet-norm-grads-missing", f"grads has no {', '.join(f.missing_keys)}",
                     subject="grads")
    if f.where != _NET:
        return None
    if f.value == "dropout_param['mode']":
        return found("fcnet-dropout-at-test", "loss(X) runs dropout_forward in train mode",
                     subject="dropout_param['mode']")
    if f.value == "bn_param['mode']":
        return found("fcnet-bn-train-at-test", "loss(X) runs batchnorm_forward in train mode",
                     subject="bn_param['mode']")
    if f.value == "gamma regularization":
        return found("fcnet-regularizes-gamma", "the L2 term also holds gamma and beta",
                     subject="gamma")
    if f.value == "regularization":
        return found("missing-regularization", "the loss has no L2 term", subject="loss")
    if f.value == "regularization factor":
        return found("regularization-factor", "the loss adds reg·ΣW², twice 0.5·reg·ΣW²",
                     subject="loss")
    if f.value.endswith(" regularization"):
        weight = f.value.split()[0]
        return found("missing-regularization", f"{weight} is left out of the L2 term "
                     "0.5·reg·ΣW²", subject=weight)
    if f.value.endswith(" skipped") or f.value.startswith("dout of "):
        call = f.value.removesuffix(" skipped").removeprefix("dout of ")
        saw = (f"the gradient never goes through {call}" if f.value.endswith(" skipped")
               else f"{call} gets another upstream gradient than the next call's dx")
        return found("fcnet-chain", saw, subject=call)
    if f.value.startswith("grads["):
        return found("fcnet-grads-wiring", f"every layer call is right on its own inputs, but "
                     f"{f.value} is not what they give", subject=f.value)
    return None


def diagnose_net(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The net's mistake behind a failed check (a numerical failure: its loss or gradient
    check's, when one failed)."""
    if check.kind == "numerical":
        other = next((c for c in item.checks if c.status == "failed" and c is not check
                      and c.kind != "numerical"), None)
        return _blamed(other) if other is not None else None
    return _blamed(check)
