"""lstm_backward starts every step with dnext_c = 0 instead of the dprev_c of step t+1."""

import numpy as np

from reference import *  # noqa: F403


def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev_h, prev_c = h0, np.zeros_like(h0)
    caches = []
    for t in range(T):
        prev_h, prev_c, c = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)  # noqa: F405
        h[:, t] = prev_h
        caches.append(c)
    return h, (caches, D)


def lstm_backward(dh, cache):
    caches, D = cache
    N, T, H = dh.shape
    dx = np.zeros((N, T, D))
    dWx, dWh, db = 0, 0, 0
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dprev_h, _, dWx_t, dWh_t, db_t = lstm_step_backward(  # noqa: F405
            dh[:, t] + dprev_h, np.zeros((N, H)), caches[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev_h, dWx, dWh, db


EXPECT = {"lstm_backward": "backward"}
DIAGNOSIS = "lstm-dropped-dc"
