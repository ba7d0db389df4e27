"""The recurrent layers in JAX, float64: forward values and ``jax.vjp`` gradients.

Each public function runs inside :func:`bpverify.grading.oracles.float64` (64-bit types on the
CPU for this call only): a user's JAX in the same process keeps its own settings.

The sequences run through ``lax.scan``, the LSTM's gates are sliced in the course's order
(i, f, o, g), and the initial cell state of ``lstm`` is zero, as in the starter's docstring.

Speed: XLA compiles every new shape, and Hypothesis draws many.  So every input is
zero-padded to one bucket (:data:`BUCKET`, above every size the strategies draw) and each
function is compiled once.  Padding is exact: a padded example, step or input column meets
zero weights and a zero upstream gradient; a padded hidden unit has zero weights, so its
pre-activation is 0, its state stays 0 (tanh(0) = 0; the LSTM's c = ½·0 + ½·tanh(0) = 0) and
it feeds nothing; a padded word class scores -1e30, whose probability is exactly 0; padded
steps of the loss are masked out, and the loss is divided by the real N.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from bpverify.grading import oracles

__all__ = ["BUCKET", "captioning", "layer", "temporal_softmax_loss"]

#: The padded sizes: N sequences, T steps, D inputs, H hidden units, V words, M outputs.
BUCKET = {"N": 4, "T": 4, "D": 8, "H": 8, "V": 8, "M": 8, "W": 8}
_MASKED = -1e30

Array = Any


def _rnn_step(x: Array, h: Array, Wx: Array, Wh: Array, b: Array) -> Array:
    return jnp.tanh(x @ Wx + h @ Wh + b)


def _lstm_step(x: Array, h: Array, c: Array, Wx: Array, Wh: Array,
               b: Array) -> tuple[Array, Array]:
    a = x @ Wx + h @ Wh + b
    H = h.shape[1]
    i, f, o = (jax.nn.sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
    g = jnp.tanh(a[:, 3 * H:])
    c_next = f * c + i * g
    return o * jnp.tanh(c_next), c_next


def _rnn(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> Array:
    def step(h: Array, xt: Array) -> tuple[Array, Array]:
        h = _rnn_step(xt, h, Wx, Wh, b)
        return h, h

    _, hs = lax.scan(step, h0, jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


def _lstm(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> Array:
    def step(carry: tuple[Array, Array], xt: Array) -> tuple[tuple[Array, Array], Array]:
        h, c = _lstm_step(xt, *carry, Wx, Wh, b)
        return (h, c), h

    _, hs = lax.scan(step, (h0, jnp.zeros_like(h0)), jnp.swapaxes(x, 0, 1))
    return jnp.swapaxes(hs, 0, 1)


def _word_embedding(W: Array, x: Array) -> Array:
    return W[x]


def _temporal_affine(x: Array, w: Array, b: Array) -> Array:
    return x @ w + b


#: base -> (function of the differentiable inputs (and, last, the indices), its outputs'
#: count).  The functions take exactly the inputs named by the spec's ``wrt`` first.
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "rnn_step": _rnn_step,
    "rnn": _rnn,
    "lstm_step": _lstm_step,
    "lstm": _lstm,
    "temporal_affine": _temporal_affine,
    "word_embedding": _word_embedding,
}

#: How each input of a layer is padded: one bucket letter per axis; "4H": four blocks of H.
_AXES: dict[str, dict[str, tuple[str, ...]]] = {
    "rnn_step": {"x": ("N", "D"), "prev_h": ("N", "H"), "Wx": ("D", "H"), "Wh": ("H", "H"),
                 "b": ("H",), "next_h": ("N", "H")},
    "rnn": {"x": ("N", "T", "D"), "h0": ("N", "H"), "Wx": ("D", "H"), "Wh": ("H", "H"),
            "b": ("H",), "h": ("N", "T", "H")},
    "lstm_step": {"x": ("N", "D"), "prev_h": ("N", "H"), "prev_c": ("N", "H"),
                  "Wx": ("D", "4H"), "Wh": ("H", "4H"), "b": ("4H",), "next_h": ("N", "H"),
                  "next_c": ("N", "H")},
    "lstm": {"x": ("N", "T", "D"), "h0": ("N", "H"), "Wx": ("D", "4H"), "Wh": ("H", "4H"),
             "b": ("4H",), "h": ("N", "T", "H")},
    "temporal_affine": {"x": ("N", "T", "D"), "w": ("D", "M"), "b": ("M",),
                        "out": ("N", "T", "M")},
    "word_embedding": {"W": ("V", "D"), "x": ("N", "T"), "out": ("N", "T", "D")},
}


def _pad(a: Any, axes: Sequence[str]) -> np.ndarray:
    a = np.asarray(a)
    if "4H" in axes:  # the four gates' blocks are padded one by one
        k = list(axes).index("4H")
        blocks = np.stack(np.split(a, 4, axis=k), axis=k)  # (..., 4, H, ...)
        padded = _pad(blocks, [*axes[:k], "4", "H", *axes[k + 1:]])
        return padded.reshape(*padded.shape[:k], -1, *padded.shape[k + 2:])
    shape = tuple(4 if ax == "4" else BUCKET[ax] for ax in axes)
    out = np.zeros(shape, dtype=a.dtype if a.dtype.kind in "iub" else np.float64)
    out[tuple(slice(0, s) for s in a.shape)] = a
    return out


def _unpad(a: Any, shape: tuple[int, ...], axes: Sequence[str]) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if "4H" in axes:
        k = list(axes).index("4H")
        blocks = a.reshape(*a.shape[:k], 4, BUCKET["H"], *a.shape[k + 1:])
        h = shape[k] // 4
        cut = blocks[(*(slice(0, s) for s in shape[:k]), slice(None), slice(0, h),
                      *(slice(0, s) for s in shape[k + 1:]))]
        return cut.reshape(shape)
    return a[tuple(slice(0, s) for s in shape)]


@functools.cache
def _compiled(base: str, wrt: tuple[str, ...], others: tuple[str, ...]) -> Callable[..., Any]:
    fn = _FUNCTIONS[base]

    def run(diff: list[Array], rest: list[Array], upstream: list[Array]) -> Any:
        outs, vjp = jax.vjp(lambda *d: fn(*d, *rest), *diff)
        outs_t = outs if isinstance(outs, tuple) else (outs,)
        cot = tuple(upstream) if isinstance(outs, tuple) else upstream[0]
        return outs_t, vjp(cot)

    return jax.jit(run)


@oracles.float64()
def layer(base: str, inputs: dict[str, Any], wrt: Sequence[str], outputs: Sequence[str],
          upstream: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The layer ``base`` on ``inputs`` (by name): its outputs, and the gradients of the
    inputs ``wrt`` for the upstream gradients of its outputs."""
    axes = _AXES[base]
    others = tuple(n for n in inputs if n not in wrt)
    diff = [_pad(np.asarray(inputs[n], dtype=np.float64), axes[n]) for n in wrt]
    rest = [_pad(inputs[n], axes[n]) for n in others]
    ups = [_pad(np.asarray(u, dtype=np.float64), axes[o]) for o, u in zip(outputs, upstream)]
    outs, grads = _compiled(base, tuple(wrt), others)(diff, rest, ups)
    shapes = {o: np.shape(u) for o, u in zip(outputs, upstream)}
    return ([_unpad(o, shapes[n], axes[n]) for n, o in zip(outputs, outs)],
            [_unpad(g, np.shape(inputs[n]), axes[n]) for n, g in zip(wrt, grads)])


def _softmax_loss(x: Array, y: Array, mask: Array, n: Array) -> Array:
    logp = jax.nn.log_softmax(x, axis=-1)
    picked = jnp.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
    return -jnp.sum(jnp.where(mask, picked, 0.0)) / n


_LOSS = jax.jit(jax.value_and_grad(_softmax_loss))


@oracles.float64()
def temporal_softmax_loss(x: Any, y: Any, mask: Any) -> tuple[float, np.ndarray]:
    """The course's loss: cross-entropy summed over the unmasked steps, averaged over N."""
    x = np.asarray(x, dtype=np.float64)
    n, t, v = x.shape
    px = np.full((BUCKET["N"], BUCKET["T"], BUCKET["V"]), _MASKED)
    px[:, :, :] = np.where(np.arange(BUCKET["V"]) < v, 0.0, _MASKED)
    px[:n, :t, :v] = x
    py = np.zeros((BUCKET["N"], BUCKET["T"]), dtype=np.int64)
    py[:n, :t] = np.asarray(y)
    pm = np.zeros((BUCKET["N"], BUCKET["T"]), dtype=bool)
    pm[:n, :t] = np.asarray(mask, dtype=bool)
    value, dx = _LOSS(px, py, pm, float(n))
    return float(value), np.asarray(dx)[:n, :t, :v]


# --- the captioning net ------------------------------------------------------------------------


def _captioning_loss(params: dict[str, Array], features: Array, captions: Array, n: Array,
                     lstm: bool) -> Array:
    c_in, c_out = captions[:, :-1], captions[:, 1:]
    h0 = features @ params["W_proj"] + params["b_proj"]
    words = params["W_embed"][c_in]
    run = _lstm if lstm else _rnn
    h = run(words, h0, params["Wx"], params["Wh"], params["b"])
    scores = h @ params["W_vocab"] + params["b_vocab"]
    return _softmax_loss(scores, c_out, c_out != 0, n)


_CAPTIONING = jax.jit(jax.value_and_grad(_captioning_loss), static_argnums=4)


def _param_axes(lstm: bool) -> dict[str, tuple[str, ...]]:
    gates = "4H" if lstm else "H"
    return {"W_proj": ("D", "H"), "b_proj": ("H",), "W_embed": ("V", "W"),
            "Wx": ("W", gates), "Wh": ("H", gates), "b": (gates,), "W_vocab": ("H", "V"),
            "b_vocab": ("V",)}


@oracles.float64()
def captioning(cell_type: str, params: dict[str, Any], features: Any,
               captions: Any) -> tuple[float, dict[str, np.ndarray]]:
    """The CaptioningRNN's loss and its gradients: h0 = features·W_proj + b_proj, the words
    of captions[:, :-1] embedded and run through the RNN (or LSTM), scores h·W_vocab + b_vocab,
    and the temporal softmax loss of captions[:, 1:] where they are not <NULL> (index 0).

    Padding: extra captions and steps are <NULL> (masked out), extra words score -1e30."""
    lstm = cell_type == "lstm"
    axes = _param_axes(lstm)
    padded = {k: _pad(np.asarray(v, dtype=np.float64), axes[k]) for k, v in params.items()}
    v = np.shape(params["b_vocab"])[0]
    padded["b_vocab"][v:] = _MASKED
    f = _pad(np.asarray(features, dtype=np.float64), ("N", "D"))
    c = np.asarray(captions, dtype=np.int64)
    pc = np.zeros((BUCKET["N"], BUCKET["T"] + 1), dtype=np.int64)
    pc[:c.shape[0], :c.shape[1]] = c
    value, grads = _CAPTIONING(padded, f, pc, float(c.shape[0]), lstm)
    return float(value), {k: _unpad(grads[k], np.shape(params[k]), axes[k]) for k in params}
