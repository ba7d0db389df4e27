from ok_layers import *  # noqa: F403

EXPECT = {"AddLayer": ("backward", "bad-return", "return statement", "no-return")}


class AddLayer:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        dx = dout * 1  # noqa: F841
        dy = dout * 1  # noqa: F841
