from ok_chapter7 import *  # noqa: F403
from ok_chapter7 import BatchNormalization as _BatchNormalization

EXPECT = {"BatchNormalization": ("test mode", "wrong-values", "out differs",
                                 "book-bn-test-batch-stats")}


class BatchNormalization(_BatchNormalization):
    def forward(self, x, train_flg=True):
        return super().forward(x, True)  # test time normalizes with the batch's statistics
