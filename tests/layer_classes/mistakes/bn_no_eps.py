import numpy as np
from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import BatchNormalization as _BatchNormalization

EXPECT = {"BatchNormalization": ("low variance", "not-finite", "not finite", "book-bn-eps")}


class BatchNormalization(_BatchNormalization):
    def forward(self, x, train_flg=True):
        self.eps = 0.0  # no eps: a feature of one value divides 0 by 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return super().forward(x, train_flg)

    def backward(self, dout):
        with np.errstate(divide="ignore", invalid="ignore"):
            return super().backward(dout)
