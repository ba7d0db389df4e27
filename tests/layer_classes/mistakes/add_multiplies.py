"""An AddLayer whose forward multiplies (written for bpverify's tests); its backward is right."""

EXPECT = {"AddLayer": ("forward", "wrong-values", "out differs", "other-operation")}


class AddLayer:
    def __init__(self):
        pass

    def forward(self, x, y):
        return x * y

    def backward(self, dout):
        return dout * 1, dout * 1
