"""rnn_backward hands each step dh[:, t] alone, never the dprev_h that step t+1 sent back."""

import numpy as np

from reference import *  # noqa: F403


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx, dWh, db = 0, 0, 0
    for t in reversed(range(T)):
        dx[:, t], dh0, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])  # noqa: F405
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh0, dWx, dWh, db


EXPECT = {"rnn_backward": "backward"}
DIAGNOSIS = "rnn-no-carry"
