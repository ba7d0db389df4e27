import numpy as np
from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import Dropout as _Dropout

EXPECT = {"Dropout": ("backward", "wrong-values", "dx differs",
                      "book-dropout-backward-unscaled")}


class Dropout(_Dropout):
    """Inverted dropout whose backward forgets the scale."""

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask / (1.0 - self.dropout_ratio)
        return x

    def backward(self, dout):
        return dout * self.mask  # the 1 / (1 - dropout_ratio) of forward is missing
