"""Convolution and Pooling through im2col (a window per row), written for the zoo: the
mistakes below each change one line of them."""
import numpy as np


def to_rows(x, fh, fw, stride, pad):
    """(N*OH*OW, C*FH*FW): every window of the padded x as a row."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = 1 + (h + 2 * pad - fh) // stride, 1 + (w + 2 * pad - fw) // stride
    rows = np.empty((n, oh, ow, c, fh, fw))
    for i in range(oh):
        for j in range(ow):
            rows[:, i, j] = xp[:, :, i * stride:i * stride + fh, j * stride:j * stride + fw]
    return rows.reshape(n * oh * ow, -1), oh, ow


def from_rows(rows, shape, fh, fw, stride, pad, keep_pad=False):
    n, c, h, w = shape
    oh, ow = 1 + (h + 2 * pad - fh) // stride, 1 + (w + 2 * pad - fw) // stride
    rows = rows.reshape(n, oh, ow, c, fh, fw)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad))
    for i in range(oh):
        for j in range(ow):
            xp[:, :, i * stride:i * stride + fh, j * stride:j * stride + fw] += rows[:, i, j]
    return xp if keep_pad else xp[:, :, pad:pad + h, pad:pad + w]


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        fn, c, fh, fw = self.W.shape
        self.x = x
        self.col, oh, ow = to_rows(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(x.shape[0], oh, ow, fn).transpose(0, 3, 1, 2)

    def backward(self, dout):
        fn, c, fh, fw = self.W.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = d.sum(axis=0)
        self.dW = (self.col.T @ d).T.reshape(fn, c, fh, fw)
        return from_rows(d @ self.col_W.T, self.x.shape, fh, fw, self.stride, self.pad)


class Pooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def forward(self, x):
        n, c, h, w = x.shape
        col, oh, ow = to_rows(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)
        self.x, self.arg_max = x, col.argmax(axis=1)
        return col.max(axis=1).reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout):
        d = dout.transpose(0, 2, 3, 1).ravel()
        dmax = np.zeros((d.size, self.pool_h * self.pool_w))
        dmax[np.arange(d.size), self.arg_max] = d
        return from_rows(dmax, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)
