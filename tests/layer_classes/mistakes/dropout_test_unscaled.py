from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import Dropout as _Dropout

EXPECT = {"Dropout": ("test mode", "wrong-values", "out differs", "book-dropout-not-scaled")}


class Dropout(_Dropout):
    def forward(self, x, train_flg=True):
        if train_flg:
            return super().forward(x, True)
        return x  # training keeps units unscaled: test time must scale by 1 - dropout_ratio
