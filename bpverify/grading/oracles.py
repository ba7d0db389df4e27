"""The autodiff oracle: a jax.numpy definition of every contract item, evaluated in float64.

Forward values are compared with these functions and backward passes with ``jax.vjp`` on the
same inputs and a random upstream gradient.  Where a function has a kink (ReLU at 0, max at a
tie, a hinge margin at 0) the definitions use ``jnp.where`` with a strict comparison, so the
oracle picks one valid subgradient; the checks then accept any other valid one.

Speed: XLA compiles every new shape, ~0.2 s for a small net, and Hypothesis draws hundreds of
shapes.  So every input is zero-padded to a *bucket* (masked where padding would change the
result: extra classes, extra samples) and each item is compiled once per bucket.  A bucket is a
power of two, but never below the item's floor, which is chosen so that every shape the
strategies draw falls in one bucket: grading the default rubric compiles each item once.
Padding is exact: padded entries are zeros that add nothing to any sum, or masked out.

Compiled programs are kept on disk by JAX's persistent compilation cache, in
``$BPVERIFY_JAX_CACHE`` if set (``off`` disables it), else ``$XDG_CACHE_HOME/bpverify/jax``
(``~/.cache/bpverify/jax``): a second run, and every process of a ``--jobs`` batch or of one
grade's helpers, loads them instead of compiling.  :func:`warm` compiles the items of a run
ahead of time (the engine calls it in a thread while the worker boots).

A user's JAX is left as it was: nothing here changes JAX's process-wide configuration.  Every
oracle runs inside :func:`float64`, thread-local settings that JAX restores on the way out
(64-bit types on, the CPU as default device, and this cache folder unless the user set a
compilation cache of their own), so a notebook's ``jnp.ones(2)`` stays float32 next to a check.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from bpverify import operations
from bpverify.contract import CIRCUITS, GATES
from bpverify.grading.memo import remembered

__all__ = ["CACHE_ENV", "affine", "cache_dir", "circuit", "float64", "gate", "jax_math", "loss",
           "net", "relu", "softmax_data_loss", "svm_data_loss", "warm"]

#: Environment variable: where compiled oracles are cached on disk; "off" (or "0") disables it.
CACHE_ENV = "BPVERIFY_JAX_CACHE"

#: 64-bit types for this thread while inside: a config state in newer JAX, in older JAX the
#: context manager jax.experimental.enable_x64 (both take the new value).
_ENABLE_X64: Any = getattr(jax, "enable_x64", None)
if _ENABLE_X64 is None:
    _ENABLE_X64 = importlib.import_module("jax.experimental").enable_x64


def cache_dir() -> Path | None:
    """The persistent compilation cache's folder, or None when $BPVERIFY_JAX_CACHE is off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "0", "off", "none") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "bpverify", "jax")


@functools.cache
def _cache_folder() -> str | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile every time, as without the cache
        return None
    return str(folder)


@functools.cache
def _cpu() -> Any:
    return jax.devices("cpu")[0]


_SCOPED = threading.local()  #: how deep this thread is in float64() (only the outermost acts)
_ACTIVE = threading.Lock()  #: guards the two below
_active = 0  #: threads inside float64() now (the engine's warm-up thread and the checks)
_ours = False  #: whether our disk cache is in use: decided when the first of them entered


@contextlib.contextmanager
def _disk_cache() -> Iterator[None]:
    """JAX's persistent compilation cache in our folder, for this thread, while inside.

    Our programs compile in ~0.05-0.3 s, below JAX's default threshold of 1 s, so the threshold
    is 0 here.  A user's own cache (a folder set, or JAX's cache already started) is left
    alone.  JAX starts its cache object once, at the first compilation: if ours started it, it
    is reset when the last of our threads leaves, so the user's later programs are not written
    into our folder.
    """
    global _active, _ours
    try:
        from jax._src import compilation_cache as cc
        from jax._src import config as jax_config

        states = (jax_config.compilation_cache_dir,
                  jax_config.persistent_cache_min_compile_time_secs,
                  jax_config.persistent_cache_min_entry_size_bytes)
        reset = cc.reset_cache
    except (ImportError, AttributeError):  # another JAX: no disk cache, compile each time
        yield
        return
    folder = _cache_folder()
    with _ACTIVE:
        if _active == 0:
            _ours = (folder is not None and states[0].value is None
                     and getattr(cc, "_cache", None) is None)
        _active += 1
        ours = _ours
    try:
        if ours:
            # -1: no size threshold, and JAX does not replace it with a process-wide default.
            with states[0](folder), states[1](0.0), states[2](-1):
                yield
        else:
            yield
    finally:
        with _ACTIVE:
            _active -= 1
            if _active == 0 and ours and getattr(cc, "_cache", None) is not None:
                reset()


@contextlib.contextmanager
def float64() -> Iterator[None]:
    """Inside: JAX computes in float64 on the CPU, with our disk cache; outside, nothing
    changed.  The settings are JAX's thread-local ones (``jax.enable_x64``,
    ``jax.default_device``), so another thread of the user's sees its own."""
    depth = getattr(_SCOPED, "depth", 0)
    if depth:
        yield
        return
    _SCOPED.depth = 1
    try:
        with _ENABLE_X64(True), jax.default_device(_cpu()), _disk_cache():
            yield
    finally:
        _SCOPED.depth = 0


_F = TypeVar("_F", bound=Callable[..., Any])


def _in_float64(fn: _F) -> _F:
    """Run ``fn`` inside :func:`float64` (every public oracle is)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with float64():
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]


#: Serialises first calls (compilations) of a bucket, so that warm() in a thread and the checks
#: never compile the same program twice; later calls of a bucket take no lock.
_COMPILING = threading.Lock()
_READY: set[tuple[Any, ...]] = set()


def _once(key: tuple[Any, ...], fn: Any, *args: Any) -> Any:
    if key in _READY:
        return fn(*args)
    with _COMPILING:
        out = fn(*args)
        _READY.add(key)
    return out

Array = Any
_MASKED = -1e30  # the score of a padded class: e^(_MASKED - max) is exactly 0


def _bucket(n: int, floor: int = 4) -> int:
    return max(floor, 1 << math.ceil(math.log2(max(n, 1))))


# Floors: the strategies draw gate inputs of at most 81 elements, relu inputs of at most 256,
# affine x of at most 4 x 27 and w of 27 x 27, losses of 5 x 5, nets of widths at most 5.
_GATE_FLOOR = 128
_RELU_FLOOR = 256
_AFFINE_FLOOR = (8, 32, 32)
_LOSS_FLOOR = 8
_NET_FLOOR = 8


def _pad(a: Any, shape: tuple[int, ...], fill: float = 0.0) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    out = np.full(shape, fill, dtype=np.float64)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _sigmoid(x: Array) -> Array:
    return jax.nn.sigmoid(x)


#: The maths namespace of :mod:`bpverify.operations` in jax.numpy (the sigmoid is JAX's stable
#: one: its gradient stays finite for |x| up to 1000).
_JAX_MATH = operations.Math(exp=jnp.exp, log=jnp.log, tanh=jnp.tanh, sigmoid=_sigmoid,
                            where=jnp.where)


def jax_math() -> operations.Math:
    """The operations table's maths in jax.numpy (float64), for an oracle built on the table."""
    return _JAX_MATH


def _elementwise(name: str) -> Callable[..., Array]:
    """The gate's function of its inputs and its constant, from the operations table."""
    op = operations.of_gate(name)
    if GATES[name].const:
        return lambda *xs: op.value(_JAX_MATH, *xs)
    return lambda *xs: op.value(_JAX_MATH, *xs[:-1])


@functools.cache
def _gate_fn(name: str) -> Any:
    fn = _elementwise(name)

    def run(inputs: tuple[Array, ...], const: Array, dout: Array) -> Any:
        out, pullback = jax.vjp(lambda *xs: fn(*xs, const), *inputs)
        return out, pullback(dout)

    return jax.jit(run)


@functools.cache
def _neuron_fn() -> Any:
    def run(wd: Array, b: Array, x: Array, dout: Array) -> Any:
        out, pullback = jax.vjp(lambda wd, b, x: _sigmoid(jnp.dot(wd, x) + b), wd, b, x)
        return out, pullback(dout)

    return jax.jit(run)


@remembered
@_in_float64
def gate(name: str, inputs: Sequence[Any], const: Any, dout: Any) -> tuple[Any, list[Any]]:
    """Output and input gradients of the gate ``name`` for upstream gradient ``dout``."""
    if name == "SigmoidNeuron":
        w, x = (np.asarray(v, dtype=np.float64) for v in inputs)
        n = _bucket(x.size)
        out, (dwd, db, dx) = _once(("neuron", n), _neuron_fn(),
            _pad(w[:-1], (n,)), w[-1], _pad(x, (n,)), np.float64(dout)
        )
        d = x.size
        return np.asarray(out), [np.append(np.asarray(dwd)[:d], db), np.asarray(dx)[:d]]
    shape = np.shape(inputs[0])
    size = int(np.prod(shape))
    n = _bucket(size, _GATE_FLOOR)
    # Pad with ones: 1/x and every other gate are finite there.
    flat = tuple(_pad(np.ravel(v), (n,), 1.0) for v in inputs)
    c = np.float64(0.0 if const is None else const)
    out, grads = _once(("gate", name, n), _gate_fn(name), flat, c, _pad(np.ravel(dout), (n,)))
    return (
        np.asarray(out)[:size].reshape(shape),
        [np.asarray(g)[:size].reshape(shape) for g in grads],
    )


@functools.cache
def _affine_fn() -> Any:
    def run(x: Array, w: Array, b: Array, dout: Array) -> Any:
        out, pullback = jax.vjp(lambda x, w, b: x @ w + b, x, w, b)
        return out, pullback(dout)

    return jax.jit(run)


@remembered
@_in_float64
def affine(x: Any, w: Any, b: Any, dout: Any) -> tuple[Any, list[Any]]:
    """out = x.reshape(N, D) @ w + b and (dx, dw, db) for upstream ``dout``."""
    x = np.asarray(x, dtype=np.float64)
    n, d, m = x.shape[0], w.shape[0], w.shape[1]
    bn, bd, bm = (_bucket(v, f) for v, f in zip((n, d, m), _AFFINE_FLOOR))
    out, (dx, dw, db) = _once(("affine", bn, bd, bm), _affine_fn(),
        _pad(x.reshape(n, d), (bn, bd)), _pad(w, (bd, bm)), _pad(b, (bm,)),
        _pad(dout, (bn, bm)),
    )
    return np.asarray(out)[:n, :m], [
        np.asarray(dx)[:n, :d].reshape(x.shape), np.asarray(dw)[:d, :m], np.asarray(db)[:m]
    ]


@remembered
@_in_float64
def relu(x: Any, dout: Any) -> tuple[Any, list[Any]]:
    """max(0, x) and its gradient, with the subgradient 0 chosen at x == 0."""
    out, (dx,) = _relu(x, dout)
    return out, [dx]


@functools.cache
def _relu_fn() -> Any:
    def run(x: Array, dout: Array) -> Any:
        out, pullback = jax.vjp(lambda x: jnp.where(x > 0, x, 0.0), x)
        return out, pullback(dout)

    return jax.jit(run)


def _relu(x: Any, dout: Any) -> tuple[Any, tuple[Any]]:
    shape = np.shape(x)
    size = int(np.prod(shape))
    n = _bucket(size, _RELU_FLOOR)
    out, (dx,) = _once(("relu", n), _relu_fn(), _pad(np.ravel(x), (n,)), _pad(np.ravel(dout), (n,)))
    return np.asarray(out)[:size].reshape(shape), (np.asarray(dx)[:size].reshape(shape),)


def softmax_data_loss(scores: Array, y: Array, rows: Array) -> Array:
    """Mean cross-entropy over the rows marked 1 in ``rows`` (padded batches), in JAX."""
    log_probs = jax.nn.log_softmax(scores, axis=1)
    picked = jnp.take_along_axis(log_probs, y[:, None], axis=1)[:, 0]
    return -jnp.sum(picked * rows) / jnp.sum(rows)


def svm_data_loss(scores: Array, y: Array, rows: Array, classes: Array) -> Array:
    """Mean multiclass hinge loss over the marked rows and classes (padded batches), in JAX."""
    correct = jnp.take_along_axis(scores, y[:, None], axis=1)
    margins = scores - correct + 1.0
    not_y = jnp.arange(scores.shape[1])[None, :] != y[:, None]
    live = (margins > 0) & not_y & (classes[None, :] > 0) & (rows[:, None] > 0)
    return jnp.sum(jnp.where(live, margins, 0.0)) / jnp.sum(rows)


@functools.cache
def _loss_fn(name: str) -> Any:
    def run(scores: Array, y: Array, rows: Array, classes: Array) -> Any:
        if name == "softmax_loss":
            masked = lambda s: jnp.where(classes[None, :] > 0, s, _MASKED)  # noqa: E731
            return jax.value_and_grad(lambda s: softmax_data_loss(masked(s), y, rows))(scores)
        return jax.value_and_grad(lambda s: svm_data_loss(s, y, rows, classes))(scores)

    return jax.jit(run)


@remembered
@_in_float64
def loss(name: str, scores: Any, y: Any) -> tuple[float, Any]:
    """The mean softmax or SVM loss (margin 1) and its gradient with respect to scores."""
    n, c = np.shape(scores)
    bn, bc = _bucket(n, _LOSS_FLOOR), _bucket(c, _LOSS_FLOOR)
    value, ds = _once(("loss", name, bn, bc), _loss_fn(name),
        _pad(scores, (bn, bc)), _pad(y, (bn,)).astype(np.int64),
        _pad(np.ones(n), (bn,)), _pad(np.ones(c), (bc,)),
    )
    return float(value), np.asarray(ds)[:n, :c]


@functools.cache
def _net_fn(layers: int) -> Any:
    def scores_of(params: dict[str, Array], X: Array, classes: Array) -> Array:
        h = X
        for i in range(1, layers + 1):
            h = h @ params[f"W{i}"] + params[f"b{i}"]
            if i < layers:
                h = jnp.where(h > 0, h, 0.0)
        return jnp.where(classes[None, :] > 0, h, _MASKED)

    def loss_of(params: dict[str, Array], X: Array, y: Array, reg: Array, rows: Array,
                classes: Array) -> Array:
        data = softmax_data_loss(scores_of(params, X, classes), y, rows)
        l2 = sum(jnp.sum(params[f"W{i}"] ** 2) for i in range(1, layers + 1))
        return data + 0.5 * reg * l2

    def run(params: dict[str, Array], X: Array, y: Array, reg: Array, rows: Array,
            classes: Array) -> Any:
        value, grads = jax.value_and_grad(loss_of)(params, X, y, reg, rows, classes)
        return scores_of(params, X, classes), value, grads

    return jax.jit(run)


@remembered
@_in_float64
def net(
    params: dict[str, Any], X: Any, y: Any, reg: float, layers: int
) -> tuple[Any, float, dict[str, Any]]:
    """Scores, loss (softmax + 0.5*reg*sum(W**2) over the weights) and parameter gradients."""
    dims = [params["W1"].shape[0]] + [params[f"W{i}"].shape[1] for i in range(1, layers + 1)]
    bdims = [_bucket(d, _NET_FLOOR) for d in dims]
    n = np.shape(X)[0]
    bn = _bucket(n, _NET_FLOOR)
    padded = {}
    for i in range(1, layers + 1):
        padded[f"W{i}"] = _pad(params[f"W{i}"], (bdims[i - 1], bdims[i]))
        padded[f"b{i}"] = _pad(params[f"b{i}"], (bdims[i],))
    scores, value, grads = _once(("net", layers, bn, *bdims), _net_fn(layers),
        padded, _pad(X, (bn, bdims[0])), _pad(y, (bn,)).astype(np.int64), np.float64(reg),
        _pad(np.ones(n), (bn,)), _pad(np.ones(dims[-1]), (bdims[-1],)),
    )
    out = {k: np.asarray(g)[tuple(slice(0, s) for s in np.shape(params[k]))]
           for k, g in grads.items()}
    return np.asarray(scores)[:n, : dims[-1]], float(value), out


@remembered
@_in_float64
def circuit(nodes: Sequence[Any], values: dict[str, float], dout: float) -> tuple[
    float, dict[str, float]
]:
    """Forward and backward through a circuit of gates, all in float64 (the lecture's walk)."""
    wires = dict(values)
    for node in nodes:
        out, _ = gate(node.gate, [wires[w] for w in node.inputs], node.const, 1.0)
        wires[node.output] = float(out)
    grads: dict[str, float] = {nodes[-1].output: float(dout)}
    for node in reversed(nodes):
        up = grads.get(node.output, 0.0)
        _, local = gate(node.gate, [wires[w] for w in node.inputs], node.const, up)
        for w, g in zip(node.inputs, local):
            grads[w] = grads.get(w, 0.0) + float(g)
    return wires[nodes[-1].output], grads


@_in_float64
def warm(items: Iterable[str]) -> None:
    """Compile (or load from the disk cache) the oracle of every named item, at the bucket the
    strategies draw from: called in a thread, it overlaps compiling with other work."""
    for name in items:
        if name in GATES:
            ins = [np.ones(3)] * len(GATES[name].inputs)
            if name == "SigmoidNeuron":
                ins = [np.ones(3), np.ones(2)]
            gate(name, ins, 1.0 if GATES[name].const else None, np.ones(()) if
                 name == "SigmoidNeuron" else np.ones(3))
        elif name in CIRCUITS:
            for node in CIRCUITS[name].nodes:
                gate(node.gate, [1.0] * len(node.inputs), node.const, 1.0)
        elif name.startswith("affine_"):
            affine(np.ones((2, 3)), np.ones((3, 2)), np.ones(2), np.ones((2, 2)))
        elif name.startswith("relu_"):
            relu(np.ones(3), np.ones(3))
        elif name in ("softmax_loss", "svm_loss"):
            loss(name, np.ones((2, 3)), np.zeros(2, dtype=np.int64))
        elif name in ("TwoLayerNet", "ThreeLayerNet"):
            layers = 2 if name == "TwoLayerNet" else 3
            dims = [2] * layers + [3]
            params = {}
            for i in range(1, layers + 1):
                params[f"W{i}"], params[f"b{i}"] = np.ones(dims[i - 1:i + 1]), np.ones(dims[i])
            net(params, np.ones((2, 2)), np.zeros(2, dtype=np.int64), 0.1, layers)
