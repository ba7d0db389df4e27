"""An im2col that unpacks the input's shape as (N, C, W, H) (seen in a learner's repository):
right on the book's square images, wrong on any other; the grader's inputs are not square."""
import numpy as np


def im2col(x, fh, fw, stride=1, pad=0):
    n, c, w, h = x.shape  # height and width swapped
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    col = np.zeros((n, oh, ow, c, fh, fw))
    for i in range(oh):
        for j in range(ow):
            col[:, i, j] = xp[:, :, i * stride:i * stride + fh, j * stride:j * stride + fw]
    return col.reshape(n * oh * ow, -1)


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        fn, c, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh, ow = (h + 2 * self.pad - fh) // self.stride + 1, (w + 2 * self.pad - fw) // self.stride + 1
        self.x, self.col = x, im2col(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        fn = self.W.shape[0]
        d = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = d.sum(axis=0)
        self.dW = (self.col.T @ d).T.reshape(self.W.shape)
        return np.zeros(self.x.shape)  # not reached on a non-square input
