"""Correct chapter 6-7 classes written otherwise than the book: inverted dropout, a
BatchNormalization in float32 with eps = 1e-5 and another name for its flag, im2col through
np.lib.stride_tricks, and a Pooling that splits dout among tied maxima."""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class Dropout:
    def __init__(self, dropout_ratio=0.5):
        self.p = dropout_ratio

    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = (np.random.rand(*x.shape) > self.p) / (1.0 - self.p)  # inverted dropout
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class BatchNorm:
    def __init__(self, gamma, beta, momentum=0.9):
        self.gamma, self.beta = gamma.astype(np.float32), beta.astype(np.float32)
        self.momentum, self.moving_mean, self.moving_var = momentum, None, None

    def forward(self, x, is_training=True):
        x = x.astype(np.float32)
        if self.moving_mean is None:
            self.moving_mean = np.zeros(x.shape[1], np.float32)
            self.moving_var = np.zeros(x.shape[1], np.float32)
        if is_training:
            mu, var = x.mean(axis=0), x.var(axis=0)
            self.moving_mean = self.momentum * self.moving_mean + (1 - self.momentum) * mu
            self.moving_var = self.momentum * self.moving_var + (1 - self.momentum) * var
        else:
            mu, var = self.moving_mean, self.moving_var
        self.inv = 1.0 / np.sqrt(var + np.float32(1e-5))
        self.xn = (x - mu) * self.inv
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        dout = dout.astype(np.float32)
        n = dout.shape[0]
        self.dbeta, self.dgamma = dout.sum(axis=0), (dout * self.xn).sum(axis=0)
        dxn = dout * self.gamma
        return self.inv / n * (n * dxn - dxn.sum(axis=0) - self.xn * (dxn * self.xn).sum(axis=0))


class Conv:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        p, s = self.pad, self.stride
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        fh, fw = self.W.shape[2:]
        self.win = sliding_window_view(self.xp, (fh, fw), axis=(2, 3))[:, :, ::s, ::s]
        return np.einsum("ncijhw,fchw->nfij", self.win, self.W) + self.b[None, :, None, None]

    def backward(self, dout):
        s, p = self.stride, self.pad
        fh, fw = self.W.shape[2:]
        self.db = dout.sum(axis=(0, 2, 3))
        self.dW = np.einsum("ncijhw,nfij->fchw", self.win, dout)
        dxp = np.zeros_like(self.xp)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dxp[:, :, i * s:i * s + fh, j * s:j * s + fw] += np.einsum(
                    "nf,fchw->nchw", dout[:, :, i, j], self.W)
        h, w = self.xp.shape[2] - 2 * p, self.xp.shape[3] - 2 * p
        return dxp[:, :, p:p + h, p:p + w]


class MaxPooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.ph, self.pw, self.s = pool_h, pool_w, stride

    def forward(self, x):
        self.x = x
        win = sliding_window_view(x, (self.ph, self.pw), axis=(2, 3))[:, :, ::self.s, ::self.s]
        return win.max(axis=(4, 5))

    def backward(self, dout):
        dx = np.zeros(self.x.shape)
        s, ph, pw = self.s, self.ph, self.pw
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                win = self.x[:, :, i * s:i * s + ph, j * s:j * s + pw]
                top = win == win.max(axis=(2, 3), keepdims=True)
                share = top / top.sum(axis=(2, 3), keepdims=True)  # tied maxima split dout
                dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += share * dout[:, :, i, j][
                    :, :, None, None]
        return dx
