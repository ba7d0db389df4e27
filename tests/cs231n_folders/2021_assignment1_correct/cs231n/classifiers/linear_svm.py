from builtins import range
import numpy as np
from random import shuffle
from past.builtins import xrange


def svm_loss_vectorized(W, X, y, reg):
    scores = X.dot(W)
    N = X.shape[0]
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    return margins.sum() / N + reg * np.sum(W * W), np.zeros_like(W)
