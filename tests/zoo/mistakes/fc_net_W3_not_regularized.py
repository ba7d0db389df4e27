"""FullyConnectedNet's L2 loop stops before the last layer: W3 is never regularized."""

import numpy as np

from reference import *  # noqa: F403


class FullyConnectedNet(FullyConnectedNet):  # noqa: F405
    def l2(self):
        keys = [f"W{i}" for i in range(1, self.num_layers)]  # misses W_L
        term = sum(0.5 * self.reg * np.sum(self.params[k] ** 2) for k in keys)
        return term, {k: self.reg * self.params[k] for k in keys}


EXPECT = {"FullyConnectedNet": "regularization"}
ONLY_CHECKS = {"FullyConnectedNet": ("regularization",)}
DIAGNOSES = {"FullyConnectedNet": "missing-regularization"}
