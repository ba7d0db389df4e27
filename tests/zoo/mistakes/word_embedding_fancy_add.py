"""word_embedding_backward writes dW[x] += dout, so a repeated word keeps one gradient only."""

import numpy as np

from reference import *  # noqa: F403


def word_embedding_forward(x, W):
    return W[x], (x, W)


def word_embedding_backward(dout, cache):
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout
    return dW


EXPECT = {"word_embedding_backward": "backward"}
DIAGNOSIS = "embedding-lost-repeats"
