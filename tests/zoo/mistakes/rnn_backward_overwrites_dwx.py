"""rnn_backward assigns each step's dWx, dWh and db (=) instead of summing them over time."""

import numpy as np

from reference import *  # noqa: F403


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, dWx, dWh, db = rnn_step_backward(  # noqa: F405
            dh[:, t] + dprev_h, cache[t])
    return dx, dprev_h, dWx, dWh, db


EXPECT = {"rnn_backward": "backward"}
DIAGNOSIS = "rnn-overwrite"
