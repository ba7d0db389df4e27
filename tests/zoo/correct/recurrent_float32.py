"""The recurrent layers computed in float32 throughout, as a CaptioningRNN of dtype float32 runs them."""

import numpy as np

from reference import *  # noqa: F403
from reference import recurrent as _recurrent

_f32 = np.float32


def _as32(*arrays):
    return [np.asarray(a, dtype=_f32) if np.asarray(a).dtype.kind == "f" else a
            for a in arrays]


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    return _recurrent.rnn_step_forward(*_as32(x, prev_h, Wx, Wh, b))


def rnn_step_backward(dnext_h, cache):
    return _recurrent.rnn_step_backward(*_as32(dnext_h), cache)


def rnn_forward(x, h0, Wx, Wh, b):
    return _recurrent.rnn_forward(*_as32(x, h0, Wx, Wh, b))


def rnn_backward(dh, cache):
    return _recurrent.rnn_backward(*_as32(dh), cache)


def word_embedding_forward(x, W):
    return _recurrent.word_embedding_forward(x, *_as32(W))


def word_embedding_backward(dout, cache):
    return _recurrent.word_embedding_backward(*_as32(dout), cache)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    return _recurrent.lstm_step_forward(*_as32(x, prev_h, prev_c, Wx, Wh, b))


def lstm_step_backward(dnext_h, dnext_c, cache):
    return _recurrent.lstm_step_backward(*_as32(dnext_h, dnext_c), cache)


def lstm_forward(x, h0, Wx, Wh, b):
    return _recurrent.lstm_forward(*_as32(x, h0, Wx, Wh, b))


def lstm_backward(dh, cache):
    return _recurrent.lstm_backward(*_as32(dh), cache)


def temporal_affine_forward(x, w, b):
    return _recurrent.temporal_affine_forward(*_as32(x, w, b))


def temporal_affine_backward(dout, cache):
    return _recurrent.temporal_affine_backward(*_as32(dout), cache)


def temporal_softmax_loss(x, y, mask):
    loss, dx = _recurrent.temporal_softmax_loss(*_as32(x), y, mask)
    return _f32(loss), dx
