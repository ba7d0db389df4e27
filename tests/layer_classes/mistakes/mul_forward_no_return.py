from ok_layers import *  # noqa: F403

EXPECT = {"MulLayer": ("forward", "bad-return", "returned None", "no-forward-return")}


class MulLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        out = x * y  # noqa: F841

    def backward(self, dout):
        return dout * self.y, dout * self.x
