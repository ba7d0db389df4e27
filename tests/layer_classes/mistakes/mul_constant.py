from ok_layers import *  # noqa: F403

EXPECT = {"MulLayer": ("backward", "ignores-input", "dy stays the same when x changes",
                       "constant-for-input")}


class MulLayer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        return dout * self.y, dout * 2.0  # the apple example's 2 in place of x
