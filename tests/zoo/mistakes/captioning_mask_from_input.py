"""CaptioningRNN.loss masks with captions_in != NULL, the input words, instead of the targets."""

import numpy as np

from reference import *  # noqa: F403
from reference import CaptioningRNN as _Reference


class CaptioningRNN(_Reference):
    def loss(self, features, captions):
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_in != self._null
        p = self.params
        h0 = features.dot(p["W_proj"]) + p["b_proj"]
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])  # noqa: F405
        if self.cell_type == "rnn":
            h, rnn_cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])  # noqa: F405
        else:
            h, rnn_cache = lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])  # noqa: F405
        scores, affine_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])  # noqa: F405
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)  # noqa: F405
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(  # noqa: F405
            dscores, affine_cache)
        if self.cell_type == "rnn":
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dh, rnn_cache)  # noqa: F405
        else:
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dh, rnn_cache)  # noqa: F405
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)  # noqa: F405
        grads["W_proj"] = features.T.dot(dh0)
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads


EXPECT = {"CaptioningRNN": "loss"}
DIAGNOSIS = "captioning-mask"
