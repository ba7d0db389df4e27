"""The JAX oracle of FullyConnectedNet, and the cases its checks draw.

The net is ``{affine - [norm] - relu - [dropout]} x (L - 1) - affine - softmax`` with the L2
term ``0.5 * reg * sum(W**2)`` over the weights only (gamma and beta are not regularized, in
every starter generation), the normalizations' default eps 1e-5 (the net's bn_params set none).
Dropout multiplies each hidden layer's ReLU output by the net's own mask (read from its
dropout_forward calls); at test time batch norm uses the running averages and dropout is the
identity.  Computed in float64 with ``jax.value_and_grad``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from bpverify.grading import oracles
from bpverify.grading.checks.base import Case
from bpverify.strategies import labels, values

__all__ = ["EPS", "LAYERS", "NetOut", "judgeable", "net_cases", "param_names", "run_oracle"]

#: The normalizations' default eps inside the net (bn_param and ln_param set none).
EPS = 1e-5
#: The nets drawn: two hidden layers.
LAYERS = 3


def param_names(norm: str | None, layers: int = LAYERS) -> list[str]:
    """W1, b1, gamma1, beta1, ..., W_L, b_L (gamma and beta only with a normalization)."""
    names = []
    for i in range(1, layers + 1):
        names += [f"W{i}", f"b{i}"]
        if norm is not None and i < layers:
            names += [f"gamma{i}", f"beta{i}"]
    return names


def _case(draw: st.DrawFn, reg: bool) -> Case:
    # Few shapes: the oracle is compiled once per shape (each costs about a second).
    n = draw(st.sampled_from([3, 5]))
    dims = [3, draw(st.sampled_from([3, 4])), draw(st.sampled_from([3, 4])), 3]
    params: dict[str, Any] = {}
    for i in range(1, LAYERS + 1):
        params[f"W{i}"] = draw(values((dims[i - 1], dims[i]), lo=-1.0, hi=1.0))
        params[f"b{i}"] = draw(values((dims[i],), lo=-0.5, hi=0.5))
        if i < LAYERS:
            params[f"gamma{i}"] = draw(values((dims[i],), lo=0.5, hi=2.0))
            params[f"beta{i}"] = draw(values((dims[i],), lo=-0.5, hi=0.5))
    running = [[draw(values((h,), lo=-0.5, hi=0.5)), draw(values((h,), lo=0.5, hi=2.0))]
               for h in dims[1:-1]]
    return {"dims": dims, "params": params, "X": draw(values((n, dims[0]), lo=-2.0, hi=2.0)),
            "y": draw(labels(n, dims[-1])), "running": running,
            "reg": draw(st.sampled_from([0.1, 0.5, 1.0])) if reg else 0.0}


@functools.cache
def net_cases(reg: bool = False) -> st.SearchStrategy[Case]:
    """Nets of two hidden layers (gamma, beta and running averages drawn for each), inputs,
    labels; ``reg`` above 0 or 0."""
    return st.composite(_case)(reg)


def _hidden(norm: str | None, test: bool, params: Any, X: Any, masks: Any,
            running: Any, layers: int, xp: Any) -> tuple[Any, list[Any]]:
    """The last hidden layer's output, and every pre-ReLU value on the way."""
    h = X.reshape(X.shape[0], -1)
    pre = []
    for i in range(1, layers):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if norm is not None:
            if norm == "batchnorm" and test:
                mean, var = running[i - 1]
            else:
                axis = 0 if norm == "batchnorm" else 1
                mean = h.mean(axis=axis, keepdims=True)
                var = ((h - mean) ** 2).mean(axis=axis, keepdims=True)
            h = params[f"gamma{i}"] * (h - mean) / xp.sqrt(var + EPS) + params[f"beta{i}"]
        pre.append(h)
        h = xp.where(h > 0, h, 0.0) * masks[i - 1]
    return h, pre


@functools.cache
def _compiled(norm: str | None, test: bool, layers: int) -> Any:
    def scores(params: Any, X: Any, masks: Any, running: Any) -> Any:
        h, _ = _hidden(norm, test, params, X, masks, running, layers, jnp)
        return h @ params[f"W{layers}"] + params[f"b{layers}"]

    def loss(params: Any, X: Any, y: Any, reg: Any, masks: Any, running: Any) -> Any:
        s = scores(params, X, masks, running)
        shifted = s - s.max(axis=1, keepdims=True)
        logp = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
        data = -jnp.take_along_axis(logp, y[:, None], axis=1).mean()
        return data + 0.5 * reg * sum(jnp.sum(params[f"W{i}"] ** 2)
                                      for i in range(1, layers + 1))

    return jax.jit(scores), jax.jit(jax.value_and_grad(loss))


class NetOut:
    """The oracle's scores, loss and gradients of one net."""

    def __init__(self, scores: np.ndarray, loss: float, grads: dict[str, np.ndarray]) -> None:
        self.scores, self.loss, self.grads = scores, loss, grads


def _f64(v: Any) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def run_oracle(norm: str | None, params: dict[str, Any], X: Any, y: Any, reg: float, *,
               masks: Sequence[Any] | None = None, running: Sequence[Sequence[Any]] | None = None,
               test: bool = False, layers: int = LAYERS) -> NetOut:
    """The net's scores, loss and gradients (those two in train mode: ``test`` False)."""
    hidden = [np.shape(params[f"W{i}"])[1] for i in range(1, layers)]
    m = tuple(_f64(k) if k is not None else np.ones(h) for k, h in
              zip(masks if masks is not None else [None] * len(hidden), hidden))
    r = tuple((_f64(a).reshape(-1), _f64(b).reshape(-1)) for a, b in running) if running \
        else tuple((np.zeros(h), np.zeros(h)) for h in hidden)
    p = {k: _f64(v) for k, v in params.items()}
    scores_fn, grad_fn = _compiled(norm, test, layers)
    with oracles.float64():
        scores = np.asarray(scores_fn(p, _f64(X), m, r))
        if test:
            return NetOut(scores, float("nan"), {})
        value, grads = grad_fn(p, _f64(X), np.asarray(y, dtype=np.int64), np.float64(reg), m, r)
    return NetOut(scores, float(value), {k: np.asarray(v) for k, v in grads.items()})


def judgeable(case: Case, norm: str | None, test: bool = False) -> None:
    """Reject (``assume``) a case no correct net is sure to get right: a pre-ReLU value at the
    kink (the gradient is not unique there), or a feature whose variance is so small that
    eps decides the normalization (a float32 net then disagrees with float64 work)."""
    p = {k: _f64(v) for k, v in case["params"].items()}
    h = _f64(case["X"])
    for i in range(1, LAYERS):
        a = h @ p[f"W{i}"] + p[f"b{i}"]
        if norm == "batchnorm" and test:
            mean, var = (_f64(v) for v in case["running"][i - 1])
        elif norm is not None:
            axis = 0 if norm == "batchnorm" else 1
            mean, var = a.mean(axis=axis, keepdims=True), a.var(axis=axis, keepdims=True)
            assume(float(var.min()) > 1e-2)
        if norm is not None:
            a = p[f"gamma{i}"] * (a - mean) / np.sqrt(var + EPS) + p[f"beta{i}"]
        assume(float(np.abs(a).min()) > 1e-4)
        h = np.maximum(a, 0.0)
