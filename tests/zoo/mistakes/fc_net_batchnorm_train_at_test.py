"""FullyConnectedNet switches dropout to test mode but runs batch norm in train mode at test time."""

from reference import *  # noqa: F403


class FullyConnectedNet(FullyConnectedNet):  # noqa: F405
    def set_mode(self, mode):
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = "train"  # the batch's statistics, always


EXPECT = {"FullyConnectedNet": "test-mode"}
ONLY_CHECKS = {"FullyConnectedNet": ("test-mode",)}
DIAGNOSES = {"FullyConnectedNet": "fcnet-bn-train-at-test"}
