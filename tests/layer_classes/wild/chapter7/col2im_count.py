"""A col2im that divides each element by how many windows covered it (seen in a learner's
repository): wrong where windows overlap, and 0 / 0 = nan where no window reaches (a stride
that skips the last column). A nan from a layer without exp is no overflow."""
import numpy as np


class Pooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride = pool_h, pool_w, stride

    def forward(self, x):
        self.x = x
        s, ph, pw = self.stride, self.pool_h, self.pool_w
        oh, ow = (x.shape[2] - ph) // s + 1, (x.shape[3] - pw) // s + 1
        out = np.zeros((x.shape[0], x.shape[1], oh, ow))
        for i in range(oh):
            for j in range(ow):
                out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
        return out

    def backward(self, dout):
        x, s, ph, pw = self.x, self.stride, self.pool_h, self.pool_w
        dx, count = np.zeros(x.shape), np.zeros(x.shape)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                win = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
                top = win == win.max(axis=(2, 3), keepdims=True)
                dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += top * dout[:, :, i, j][:, :, None, None]
                count[:, :, i * s:i * s + ph, j * s:j * s + pw] += 1
        return dx / count  # averaged over the windows, and 0 / 0 where none reached
