"""FullyConnectedNet puts every parameter, gamma and beta included, in the L2 term."""

import numpy as np

from reference import *  # noqa: F403


class FullyConnectedNet(FullyConnectedNet):  # noqa: F405
    def l2(self):
        keys = [k for k in self.params if not k.startswith("b")]  # W, gamma and beta
        term = sum(0.5 * self.reg * np.sum(self.params[k] ** 2) for k in keys)
        return term, {k: self.reg * self.params[k] for k in keys}


EXPECT = {"FullyConnectedNet": "regularization"}
DIAGNOSES = {"FullyConnectedNet": "fcnet-regularizes-gamma"}
