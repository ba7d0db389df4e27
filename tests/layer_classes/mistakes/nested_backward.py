EXPECT = {"AddLayer": ("interface", "nested-method",
                       "a function backward is defined inside AddLayer.forward",
                       "misplaced-method")}


class AddLayer:
    def forward(self, x, y):
        return x + y

        def backward(self, dout):
            return dout, dout
