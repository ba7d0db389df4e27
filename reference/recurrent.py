"""CS231n assignment 3's recurrent layers (cs231n/rnn_layers.py), as the course asks for them.

Shapes: N sequences of T steps, inputs of size D, hidden states of size H, V words, M
outputs.  The LSTM's 4H columns hold its gates in the order i, f, o, g.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]

Array = np.ndarray


def rnn_step_forward(x: Array, prev_h: Array, Wx: Array, Wh: Array,
                     b: Array) -> tuple[Array, Any]:
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h: Array, cache: Any) -> tuple[Array, ...]:
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)  # tanh' from tanh's output
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Any]:
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx))
    caches = []
    prev = h0
    for t in range(T):
        prev, cache = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        h[:, t] = prev
        caches.append(cache)
    return h, caches


def rnn_backward(dh: Array, cache: Any) -> tuple[Array, ...]:
    caches = cache
    x0, h0, Wx, Wh, _ = caches[0]
    N, T, _ = dh.shape
    dx = np.zeros((N, T, x0.shape[1]), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dtype=Wh.dtype)
    dprev = np.zeros_like(h0)
    for t in reversed(range(T)):
        # the hidden state feeds this step's output and the next step: both gradients add
        dx[:, t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev, caches[t])
        dWx += dWx_t  # the weights are used at every step: their gradients add up
        dWh += dWh_t
        db += db_t
    return dx, dprev, dWx, dWh, db


def word_embedding_forward(x: Array, W: Array) -> tuple[Array, Any]:
    return W[x], (x, W.shape)


def word_embedding_backward(dout: Array, cache: Any) -> Array:
    x, shape = cache
    dW = np.zeros(shape, dtype=dout.dtype)
    np.add.at(dW, x, dout)  # a repeated word collects every one of its gradients
    return dW


def sigmoid(x: Array) -> Array:
    """The logistic sigmoid, stable for any x: σ(x) = (1 + tanh(x/2)) / 2."""
    return 0.5 * (1 + np.tanh(0.5 * x))


def lstm_step_forward(x: Array, prev_h: Array, prev_c: Array, Wx: Array, Wh: Array,
                      b: Array) -> tuple[Array, Array, Any]:
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(dnext_h: Array, dnext_c: Array, cache: Any) -> tuple[Array, ...]:
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dc = dnext_c + dnext_h * o * (1 - tanh_c**2)  # c reaches the loss two ways
    da = np.concatenate([dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                         dnext_h * tanh_c * o * (1 - o), dc * i * (1 - g**2)], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x: Array, h0: Array, Wx: Array, Wh: Array, b: Array) -> tuple[Array, Any]:
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx))
    prev_h, prev_c = h0, np.zeros_like(h0)
    caches = []
    for t in range(T):
        prev_h, prev_c, cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h[:, t] = prev_h
        caches.append(cache)
    return h, caches


def lstm_backward(dh: Array, cache: Any) -> tuple[Array, ...]:
    caches = cache
    x0, h0, _, Wx, Wh = caches[0][:5]
    N, T, _ = dh.shape
    dx = np.zeros((N, T, x0.shape[1]), dtype=dh.dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dtype=Wh.dtype)
    dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dprev_h, dprev_c, caches[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db


def temporal_affine_forward(x: Array, w: Array, b: Array) -> tuple[Array, Any]:
    return x @ w + b, (x, w)


def temporal_affine_backward(dout: Array, cache: Any) -> tuple[Array, ...]:
    x, w = cache
    N, T, D = x.shape
    M = w.shape[1]
    dx = dout @ w.T
    dw = x.reshape(N * T, D).T @ dout.reshape(N * T, M)
    return dx, dw, dout.sum(axis=(0, 1))


def temporal_softmax_loss(x: Array, y: Array, mask: Array) -> tuple[float, Array]:
    N = x.shape[0]
    shifted = x - x.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_probs, y[:, :, None], axis=2)[:, :, 0]
    loss = -np.sum(mask * picked) / N  # summed over the steps, averaged over the sequences
    dx = np.exp(log_probs)
    np.put_along_axis(dx, y[:, :, None],
                      np.take_along_axis(dx, y[:, :, None], axis=2) - 1, axis=2)
    dx *= mask[:, :, None] / N
    return float(loss), dx
