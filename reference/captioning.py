"""CS231n assignment 3's image captioning net (cs231n/classifiers/rnn.py): its loss."""

from __future__ import annotations

from typing import Any

import numpy as np

from .recurrent import (
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

__all__ = ["CaptioningRNN"]


class CaptioningRNN:
    """Image features -> first hidden state; words -> vectors -> RNN (or LSTM) -> word scores.

    No regularization, as in the course.  ``loss(features, captions)`` trains the net to
    predict word t+1 from the words up to t: the input is every word of the caption but the
    last, the target every word but the first, and <NULL> targets are masked out.
    """

    def __init__(self, word_to_idx: dict[str, int], input_dim: int = 512,
                 wordvec_dim: int = 128, hidden_dim: int = 128, cell_type: str = "rnn",
                 dtype: Any = np.float32) -> None:
        if cell_type not in ("rnn", "lstm"):
            raise ValueError(f'Invalid cell_type "{cell_type}"; expected "rnn" or "lstm"')
        self.cell_type, self.dtype = cell_type, dtype
        self._null = word_to_idx["<NULL>"]
        vocab = len(word_to_idx)
        k = 4 if cell_type == "lstm" else 1
        rng = np.random.default_rng(0)
        self.params = {
            "W_embed": rng.standard_normal((vocab, wordvec_dim)) / 100,
            "W_proj": rng.standard_normal((input_dim, hidden_dim)) / np.sqrt(input_dim),
            "b_proj": np.zeros(hidden_dim),
            "Wx": rng.standard_normal((wordvec_dim, k * hidden_dim)) / np.sqrt(wordvec_dim),
            "Wh": rng.standard_normal((hidden_dim, k * hidden_dim)) / np.sqrt(hidden_dim),
            "b": np.zeros(k * hidden_dim),
            "W_vocab": rng.standard_normal((hidden_dim, vocab)) / np.sqrt(hidden_dim),
            "b_vocab": np.zeros(vocab),
        }
        self.params = {name: v.astype(dtype) for name, v in self.params.items()}

    def loss(self, features: np.ndarray, captions: np.ndarray) -> tuple[float, dict[str, Any]]:
        p = self.params
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        h0 = features @ p["W_proj"] + p["b_proj"]
        words, embed_cache = word_embedding_forward(captions_in, p["W_embed"])
        forward, backward = ((lstm_forward, lstm_backward) if self.cell_type == "lstm"
                             else (rnn_forward, rnn_backward))
        h, rnn_cache = forward(words, h0, p["Wx"], p["Wh"], p["b"])
        scores, scores_cache = temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads: dict[str, Any] = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward(dscores,
                                                                          scores_cache)
        dwords, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, rnn_cache)
        grads["W_embed"] = word_embedding_backward(dwords, embed_cache)
        grads["W_proj"] = features.T @ dh0
        grads["b_proj"] = dh0.sum(axis=0)
        return loss, grads
