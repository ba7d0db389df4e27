"""ThreeLayerConvNet as the course builds it: params kept in float32 (its default dtype), data
left in float64, so the scores, the data loss and every gradient are float64 (the course's
fast layers compute with the float64 data, its softmax_loss returns numpy's float64) while
the L2 term is float32."""

import numpy as np

from reference import *  # noqa: F403
from reference import affine_backward, affine_forward
from reference import max_pool_backward_naive, max_pool_forward_naive, relu_backward
from reference import relu_forward


def _conv_forward(x, w, b, pad):
    """A stride-1 convolution as one product with the windows of the float64 data."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[2]
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    out = np.einsum("nchwij,fcij->nfhw", win, w) + b[None, :, None, None]
    return out, (xp, w, pad)


def _conv_backward(dout, cache):
    xp, w, pad = cache
    k = w.shape[2]
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    dw = np.einsum("nchwij,nfhw->fcij", win, dout)
    db = dout.sum(axis=(0, 2, 3))
    dxp = np.zeros(xp.shape)
    h, wd = dout.shape[2], dout.shape[3]
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + h, j:j + wd] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    return dxp[:, :, pad:xp.shape[2] - pad, pad:xp.shape[3] - pad], dw, db


class ThreeLayerConvNet:
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        p = self.params
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        a1, c1 = _conv_forward(X, p["W1"], p["b1"], (p["W1"].shape[2] - 1) // 2)
        r1, cr1 = relu_forward(a1)
        m1, cm1 = max_pool_forward_naive(r1, pool_param)
        a2, c2 = affine_forward(m1, p["W2"], p["b2"])
        r2, cr2 = relu_forward(a2)
        scores, c3 = affine_forward(r2, p["W3"], p["b3"])
        if y is None:
            return scores
        N = scores.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -np.sum(log_probs[np.arange(N), y]) / N
        dscores = np.exp(log_probs)
        dscores[np.arange(N), y] -= 1
        dscores /= N
        loss += 0.5 * self.reg * sum(np.sum(p[k] * p[k]) for k in ("W1", "W2", "W3"))
        grads = {}
        dr2, grads["W3"], grads["b3"] = affine_backward(dscores, c3)
        dm1, grads["W2"], grads["b2"] = affine_backward(relu_backward(dr2, cr2), c2)
        dr1 = max_pool_backward_naive(dm1, cm1)
        _, grads["W1"], grads["b1"] = _conv_backward(relu_backward(dr1, cr1), c1)
        for k in ("W1", "W2", "W3"):
            grads[k] += self.reg * p[k]
        return loss, grads
