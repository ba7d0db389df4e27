from builtins import range
import numpy as np
from random import shuffle
from past.builtins import xrange


def softmax_loss_vectorized(W, X, y, reg):
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    N = X.shape[0]
    return -np.log(p[np.arange(N), y]).mean() + reg * np.sum(W * W), np.zeros_like(W)
