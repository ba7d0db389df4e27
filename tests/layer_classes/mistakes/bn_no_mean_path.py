from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import BatchNormalization as _BatchNormalization

EXPECT = {"BatchNormalization": ("backward", "wrong-values", "dx differs",
                                 "book-bn-no-mean-path")}


class BatchNormalization(_BatchNormalization):
    def backward(self, dout):
        dout = dout.reshape(dout.shape[0], -1)
        n = dout.shape[0]
        self.dbeta = dout.sum(axis=0)
        self.dgamma = (dout * self.x_hat).sum(axis=0)
        dxn = self.gamma * dout
        xc = self.x_hat * self.std
        dxc = dxn / self.std
        dstd = -(dxn * xc / self.std ** 2).sum(axis=0)
        dvar = 0.5 * dstd / self.std
        dxc += (2.0 / n) * xc * dvar
        return dxc.reshape(self.shape)  # the path through the mean (dx = dxc - dmu / N) is missing
