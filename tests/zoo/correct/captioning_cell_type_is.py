"""CaptioningRNN.loss choosing its cell with `is` (`self.cell_type is 'rnn'`), as several
students wrote it: CPython interns the literal the notebook passes, so it works there, and
it must work when the grader passes the cell type too."""

from reference import *  # noqa: F403
from reference import CaptioningRNN as _Reference


class CaptioningRNN(_Reference):
    def loss(self, features, captions):
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        p = self.params
        h0 = features.dot(p["W_proj"]) + p["b_proj"]
        x, embed_cache = word_embedding_forward(captions_in, p["W_embed"])  # noqa: F405
        if self.cell_type is "rnn":  # noqa: F632 - the students' own comparison
            h, rnn_cache = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])  # noqa: F405
        else:
            h, rnn_cache = lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])  # noqa: F405
        scores, affine_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])  # noqa: F405
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)  # noqa: F405
        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(  # noqa: F405
            dscores, affine_cache)
        if self.cell_type is "rnn":  # noqa: F632
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dh, rnn_cache)  # noqa: F405
        else:
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = lstm_backward(dh, rnn_cache)  # noqa: F405
        grads["W_embed"] = word_embedding_backward(dx, embed_cache)  # noqa: F405
        grads["W_proj"] = features.T.dot(dh0)
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads
