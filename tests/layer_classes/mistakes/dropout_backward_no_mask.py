from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import Dropout as _Dropout

EXPECT = {"Dropout": ("backward", "wrong-values", "dx differs",
                      "book-dropout-backward-no-mask")}


class Dropout(_Dropout):
    def backward(self, dout):
        return dout  # the mask is forgotten
