EXPECT = {"AddLayer": ("interface", "interface", "a function backward is defined inside AddLayer.forward")}


class AddLayer:
    def forward(self, x, y):
        return x + y

        def backward(self, dout):
            return dout, dout
