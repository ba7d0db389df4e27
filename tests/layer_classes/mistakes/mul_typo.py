EXPECT = {"MulLayer": ("interface", "interface", "MulLayer has no method forward; it defines foward — a typo?")}


class MulLayer:
    def foward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backword(self, dout):
        return dout * self.y, dout * self.x
