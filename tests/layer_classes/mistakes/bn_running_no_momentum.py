from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import BatchNormalization as _BatchNormalization

EXPECT = {"BatchNormalization": ("running averages", "wrong-values", "differ",
                                 "book-bn-running-no-momentum")}


class BatchNormalization(_BatchNormalization):
    def forward(self, x, train_flg=True):
        out = super().forward(x, train_flg)
        if train_flg:  # the old averages are replaced by this batch's, not decayed
            flat = x.reshape(x.shape[0], -1)
            self.running_mean, self.running_var = flat.mean(axis=0), flat.var(axis=0)
        return out
