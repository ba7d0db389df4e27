"""FullyConnectedNet sets the mode of its bn_params but leaves dropout in train mode at test time."""

from reference import *  # noqa: F403


class FullyConnectedNet(FullyConnectedNet):  # noqa: F405
    def set_mode(self, mode):
        self.dropout_param["mode"] = "train"  # forgot: mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode


EXPECT = {"FullyConnectedNet": "test-mode"}
ONLY_CHECKS = {"FullyConnectedNet": ("test-mode",)}
DIAGNOSES = {"FullyConnectedNet": "fcnet-dropout-at-test"}
