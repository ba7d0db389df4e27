"""dropout_backward returns dout unchanged in train mode, as if no unit had been dropped."""

from reference import *  # noqa: F403


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout


EXPECT = {"dropout_backward": "backward"}
ONLY_CHECKS = {"dropout_backward": ("backward",)}
DIAGNOSES = {"dropout_backward": "dropout-backward-no-mask"}
DIAGNOSIS = "dropout-backward-no-mask"
