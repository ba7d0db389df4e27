EXPECT = {}
NOTE = "defined at module level with a self parameter, outside any class"


def forward(self, x, y):
    self.x, self.y = x, y
    return x * y


def backward(self, dout):
    return dout * self.y, dout * self.x
