"""CS231n's convolutional layers and ThreeLayerConvNet, vectorized over the batch and channels.

The convolution is a correlation (the filter is not flipped), with ``pad`` zeros on both sides
of the height and width; max pooling has no padding.  Loops run over output positions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss

Cache = Any


def _out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    span = size + 2 * pad - kernel
    if span < 0 or span % stride:
        raise ValueError(f"a window of {kernel} with stride {stride} does not tile {size} + 2 * "
                         f"{pad}; expected (size + 2 pad - kernel) % stride == 0")
    return 1 + span // stride


def conv_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray,
                       conv_param: dict[str, int]) -> tuple[np.ndarray, Cache]:
    """out[n, f, i, j] = sum(x_pad[n, :, window(i, j)] * w[f]) + b[f]."""
    s, p = conv_param["stride"], conv_param["pad"]
    n, _, h, wd = x.shape
    f, _, hh, ww = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    ho, wo = _out_size(h, hh, s, p), _out_size(wd, ww, s, p)
    out = np.empty((n, f, ho, wo), dtype=np.result_type(x, w, b))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * s:i * s + hh, j * s:j * s + ww]
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, w) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """(dx, dw, db): each output position sends dout back through its window; db sums dout
    over the batch and the output positions."""
    x, w, _, conv_param = cache
    s, p = conv_param["stride"], conv_param["pad"]
    _, _, hh, ww = w.shape
    _, _, ho, wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp, dtype=np.result_type(x, dout)), np.zeros_like(w)
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * s, i * s + hh), slice(j * s, j * s + ww)
            dxp[:, :, rows, cols] += np.einsum("nf,fckl->nckl", dout[:, :, i, j], w)
            dw += np.einsum("nf,nckl->fckl", dout[:, :, i, j], xp[:, :, rows, cols])
    db = dout.sum(axis=(0, 2, 3))
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]], dw, db


def max_pool_forward_naive(x: np.ndarray, pool_param: dict[str, int]) -> tuple[np.ndarray, Cache]:
    """out[n, c, i, j] = the max of x[n, c] over window (i, j)."""
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, h, w = x.shape
    ho, wo = _out_size(h, ph, s, 0), _out_size(w, pw, s, 0)
    out = np.empty((n, c, ho, wo), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """Each window's dout goes to its maximum (the first one, at a tie, as np.argmax picks)."""
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, _, _ = x.shape
    _, _, ho, wo = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(n, c, -1)
            r, q = np.unravel_index(window.argmax(axis=2), (ph, pw))
            np.add.at(dx, (nn, cc, i * s + r, j * s + q), dout[:, :, i, j])
    return dx


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax, as in CS231n's cnn.py."""

    def __init__(self, input_dim: tuple[int, int, int] = (3, 32, 32), num_filters: int = 32,
                 filter_size: int = 7, hidden_dim: int = 100, num_classes: int = 10,
                 weight_scale: float = 1e-3, reg: float = 0.0, dtype: Any = np.float32,
                 seed: int = 0) -> None:
        c, h, w = input_dim
        rng = np.random.default_rng(seed)
        self.reg, self.dtype, self.filter_size = reg, dtype, filter_size
        shapes = {"W1": (num_filters, c, filter_size, filter_size), "b1": (num_filters,),
                  "W2": (num_filters * (h // 2) * (w // 2), hidden_dim), "b2": (hidden_dim,),
                  "W3": (hidden_dim, num_classes), "b3": (num_classes,)}
        self.params = {k: (weight_scale * rng.standard_normal(shape) if k[0] == "W"
                           else np.zeros(shape)).astype(dtype) for k, shape in shapes.items()}

    def loss(self, X: np.ndarray, y: np.ndarray | None = None
             ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores when y is None, else (loss, grads) with 0.5 * reg * sum(W**2) added."""
        p = self.params
        conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        h1, c1 = conv_forward_naive(X, p["W1"], p["b1"], conv_param)
        r1, cr1 = relu_forward(h1)
        p1, cp1 = max_pool_forward_naive(r1, pool_param)
        h2, c2 = affine_forward(p1, p["W2"], p["b2"])
        r2, cr2 = relu_forward(h2)
        scores, c3 = affine_forward(r2, p["W3"], p["b3"])
        if y is None:
            return scores
        loss, ds = softmax_loss(scores, y)
        loss += 0.5 * self.reg * sum(float(np.sum(p[k] * p[k])) for k in ("W1", "W2", "W3"))
        grads: dict[str, np.ndarray] = {}
        dr2, grads["W3"], grads["b3"] = affine_backward(ds, c3)
        dp1, grads["W2"], grads["b2"] = affine_backward(relu_backward(dr2, cr2), c2)
        dr1 = max_pool_backward_naive(dp1, cp1)
        _, grads["W1"], grads["b1"] = conv_backward_naive(relu_backward(dr1, cr1), c1)
        for k in ("W1", "W2", "W3"):
            grads[k] = grads[k] + self.reg * p[k]
        return loss, grads
