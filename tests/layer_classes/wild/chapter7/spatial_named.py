"""Patterns of learners' chapter-7 files (field test): a BatchNormalization with eps = 1e-7
that normalizes 4-D input per channel (spatially), whose backward divides by var where its
forward divides by var + eps; a Convolution that keeps its gradients as self.dweight and
self.dbias."""
import numpy as np


class BatchNormalization:
    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None):
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean, self.running_var = running_mean, running_var

    def forward(self, x, train_flg=True):
        self.shape = x.shape
        if x.ndim == 4:  # one mean per channel, over N, H and W
            x = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.zeros(x.shape[1])
        if train_flg:
            mu = x.mean(axis=0)
            self.xc = x - mu
            self.var = (self.xc ** 2).mean(axis=0)
            self.std = np.sqrt(self.var + 1e-7)
            self.xn = self.xc / self.std
            m = self.momentum
            self.running_mean = m * self.running_mean + (1 - m) * mu
            self.running_var = m * self.running_var + (1 - m) * self.var
        else:
            self.xn = (x - self.running_mean) / np.sqrt(self.running_var + 1e-7)
        return self._back(self.gamma * self.xn + self.beta)

    def _back(self, y):
        if len(self.shape) == 4:
            n, c, h, w = self.shape
            return y.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return y

    def backward(self, dout):
        if dout.ndim == 4:
            dout = dout.transpose(0, 2, 3, 1).reshape(-1, dout.shape[1])
        n = dout.shape[0]
        self.dbeta, self.dgamma = dout.sum(axis=0), (self.xn * dout).sum(axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dvar = -0.5 * (dxn * self.xc).sum(axis=0) / (self.var * self.std)  # var, not var + eps
        dxc = dxc + 2.0 * self.xc * dvar / n
        return self._back(dxc - dxc.mean(axis=0))


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        p, s = self.pad, self.stride
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        fn, _, fh, fw = self.W.shape
        oh, ow = (self.xp.shape[2] - fh) // s + 1, (self.xp.shape[3] - fw) // s + 1
        out = np.zeros((x.shape[0], fn, oh, ow))
        for i in range(oh):
            for j in range(ow):
                win = self.xp[:, :, i * s:i * s + fh, j * s:j * s + fw]
                out[:, :, i, j] = np.tensordot(win, self.W, axes=([1, 2, 3], [1, 2, 3]))
        return out + self.b[None, :, None, None]

    def backward(self, dout):
        p, s = self.pad, self.stride
        fn, _, fh, fw = self.W.shape
        dxp = np.zeros_like(self.xp)
        self.dweight = np.zeros_like(self.W)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                win = self.xp[:, :, i * s:i * s + fh, j * s:j * s + fw]
                self.dweight += np.tensordot(dout[:, :, i, j], win, axes=([0], [0]))
                dxp[:, :, i * s:i * s + fh, j * s:j * s + fw] += np.tensordot(
                    dout[:, :, i, j], self.W, axes=([1], [0]))
        self.dbias = dout.sum(axis=(0, 2, 3))
        h, w = self.xp.shape[2] - 2 * p, self.xp.shape[3] - 2 * p
        return dxp[:, :, p:p + h, p:p + w]
