EXPECT = {"Sigmoid": ("forward", "raised", "NameError: name 'np' is not defined",
                      "missing-numpy-import")}


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))  # noqa: F821
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out
