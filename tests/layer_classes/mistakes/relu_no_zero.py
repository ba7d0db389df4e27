from ok_layers import *  # noqa: F403

EXPECT = {"Relu": ("forward", "wrong-values", "out", "relu-not-zeroed"),
          "TwoLayerNet (layers)": ("loss", "wrong-values", "Guilty: Relu1.forward",
                                   "wrong-layer-in-net")}


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        return x.copy()  # negatives never zeroed

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx
