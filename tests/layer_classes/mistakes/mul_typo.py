EXPECT = {"MulLayer": ("interface", "misspelled-method",
                       "MulLayer has no method forward; it defines foward — a typo?",
                       "misspelled-method")}


class MulLayer:
    def foward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backword(self, dout):
        return dout * self.y, dout * self.x
