import numpy as np

EXPECT = {"Relu": ("interface", "interface", "interface differs: Relu.forward(self, x, "
                   "train_flg) found; expected forward(self, x)", "interface-differs")}


class Relu:
    def forward(self, x, train_flg):
        self.mask = x <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout):
        return np.where(self.mask, 0.0, dout)
