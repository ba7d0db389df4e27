import numpy as np
from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import Dropout as _Dropout

EXPECT = {"Dropout": ("test mode", "wrong-values", "dropped at random", "book-dropout-test-mask")}


class Dropout(_Dropout):
    def forward(self, x, train_flg=True):
        self.mask = np.random.rand(*x.shape) > self.dropout_ratio  # train_flg never read
        return x * self.mask
