"""The layer classes of "Deep Learning from Scratch" (chapters 5 to 7), written for bpverify.

Each class keeps on ``self`` what its backward needs; parameters' gradients stay on the instance
(``dW``, ``db``, ``dgamma``, ``dbeta``).  Graded with ``bpverify grade reference --rubric
layer-classes``.  Convolution and Pooling slide a window over the input (no im2col): the maths
is the same, written the short way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["AddLayer", "Affine", "BatchNormalization", "Convolution", "Dropout", "MulLayer",
           "Pooling", "Relu", "Sigmoid", "SoftmaxWithLoss"]

Array = Any


class MulLayer:
    def forward(self, x: Array, y: Array) -> Array:
        self.x, self.y = x, y
        return x * y

    def backward(self, dout: Array) -> tuple[Array, Array]:
        return dout * self.y, dout * self.x


class AddLayer:
    def forward(self, x: Array, y: Array) -> Array:
        return x + y

    def backward(self, dout: Array) -> tuple[Array, Array]:
        return dout * 1, dout * 1


class Relu:
    def forward(self, x: Array) -> Array:
        self.mask = x <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout: Array) -> Array:
        return np.where(self.mask, 0.0, dout)


class Sigmoid:
    def forward(self, x: Array) -> Array:
        x = np.asarray(x, dtype=np.float64)
        # exp of a non-positive number only: stable for large |x|.
        e = np.exp(-np.abs(x))
        self.out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.out

    def backward(self, dout: Array) -> Array:
        return dout * (1.0 - self.out) * self.out


class Affine:
    def __init__(self, W: Array, b: Array) -> None:
        self.W, self.b = W, b

    def forward(self, x: Array) -> Array:
        self.x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout: Array) -> Array:
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.x_shape)


class SoftmaxWithLoss:
    """Softmax of each row, then the mean cross-entropy; t one-hot (N, C) or labels (N,)."""

    def forward(self, x: Array, t: Array) -> float:
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        self.y = e / e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        self.labels = t.argmax(axis=1) if t.ndim == 2 else np.asarray(t)
        log_p = z - np.log(e.sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(n), self.labels].mean())

    def backward(self, dout: float = 1) -> Array:
        n = self.y.shape[0]
        dx = self.y.copy()
        dx[np.arange(n), self.labels] -= 1
        return dout * dx / n


class Dropout:
    """The book's dropout: drop with probability dropout_ratio while training, scale by the
    share kept at test time."""

    def __init__(self, dropout_ratio: float = 0.5) -> None:
        self.dropout_ratio = dropout_ratio

    def forward(self, x: Array, train_flg: bool = True) -> Array:
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask
        return x * (1.0 - self.dropout_ratio)

    def backward(self, dout: Array) -> Array:
        return dout * self.mask


class BatchNormalization:
    """Each feature normalized over the batch; 4-D input is taken as (N, C*H*W)."""

    def __init__(self, gamma: Array, beta: Array, momentum: float = 0.9,
                 running_mean: Array | None = None, running_var: Array | None = None) -> None:
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean, self.running_var = running_mean, running_var
        self.eps = 1e-6

    def forward(self, x: Array, train_flg: bool = True) -> Array:
        self.shape = x.shape
        x = x.reshape(x.shape[0], -1)
        if self.running_mean is None or self.running_var is None:
            self.running_mean = np.zeros(x.shape[1])
            self.running_var = np.zeros(x.shape[1])
        running_mean, running_var = self.running_mean, self.running_var
        if train_flg:
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = m * running_mean + (1 - m) * mean
            self.running_var = m * running_var + (1 - m) * var
        else:
            mean, var = running_mean, running_var
        self.std = np.sqrt(var + self.eps)
        self.x_hat = (x - mean) / self.std
        return (self.gamma * self.x_hat + self.beta).reshape(self.shape)

    def backward(self, dout: Array) -> Array:
        dout = dout.reshape(dout.shape[0], -1)
        self.dbeta = dout.sum(axis=0)
        self.dgamma = (dout * self.x_hat).sum(axis=0)
        dx_hat = dout * self.gamma
        # The three paths to x (direct, through the mean, through the variance) in one line.
        dx = (dx_hat - dx_hat.mean(axis=0)
              - self.x_hat * (dx_hat * self.x_hat).mean(axis=0)) / self.std
        return dx.reshape(self.shape)


def _windows(h: int, w: int, fh: int, fw: int, stride: int) -> list[tuple[int, int, slice,
                                                                           slice]]:
    return [(i, j, slice(i * stride, i * stride + fh), slice(j * stride, j * stride + fw))
            for i in range(1 + (h - fh) // stride) for j in range(1 + (w - fw) // stride)]


class Convolution:
    """Each filter slid over the zero-padded input (a correlation: the filter is not flipped)."""

    def __init__(self, W: Array, b: Array, stride: int = 1, pad: int = 0) -> None:
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x: Array) -> Array:
        p = self.pad
        self.x_shape = x.shape
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        fn, _, fh, fw = self.W.shape
        self.wins = _windows(self.xp.shape[2], self.xp.shape[3], fh, fw, self.stride)
        oh = 1 + (self.xp.shape[2] - fh) // self.stride
        ow = 1 + (self.xp.shape[3] - fw) // self.stride
        out = np.empty((x.shape[0], fn, oh, ow))
        for i, j, rows, cols in self.wins:
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", self.xp[:, :, rows, cols], self.W)
        return out + self.b.reshape(1, fn, 1, 1)

    def backward(self, dout: Array) -> Array:
        dxp = np.zeros_like(self.xp)
        self.dW = np.zeros_like(self.W)
        for i, j, rows, cols in self.wins:
            d = dout[:, :, i, j]
            dxp[:, :, rows, cols] += np.einsum("nf,fchw->nchw", d, self.W)
            self.dW += np.einsum("nf,nchw->fchw", d, self.xp[:, :, rows, cols])
        self.db = dout.sum(axis=(0, 2, 3))
        p, (_, _, h, w) = self.pad, self.x_shape
        return dxp[:, :, p:p + h, p:p + w]


class Pooling:
    """Max pooling: each window's max; backward sends dout to the (first) max."""

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def forward(self, x: Array) -> Array:
        self.x = x
        n, c, h, w = x.shape
        self.wins = _windows(h, w, self.pool_h, self.pool_w, self.stride)
        out = np.empty((n, c, 1 + (h - self.pool_h) // self.stride,
                        1 + (w - self.pool_w) // self.stride))
        for i, j, rows, cols in self.wins:
            out[:, :, i, j] = x[:, :, rows, cols].max(axis=(2, 3))
        return out

    def backward(self, dout: Array) -> Array:
        n, c = self.x.shape[:2]
        dx = np.zeros(self.x.shape)
        for i, j, rows, cols in self.wins:
            flat = self.x[:, :, rows, cols].reshape(n, c, -1)
            at = np.unravel_index(flat.argmax(axis=2), (self.pool_h, self.pool_w))
            nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
            dx[nn, cc, rows.start + at[0], cols.start + at[1]] += dout[:, :, i, j]
        return dx
