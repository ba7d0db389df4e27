"""FullyConnectedNet computes dgamma and dbeta but never stores them in grads."""

from reference import *  # noqa: F403


class FullyConnectedNet(FullyConnectedNet):  # noqa: F405
    def store_norm_grads(self, grads, i, dgamma, dbeta):
        pass  # dgamma and dbeta computed, then dropped


EXPECT = {"FullyConnectedNet": "batchnorm"}
KINDS = {"FullyConnectedNet": "bad-return"}
DIAGNOSES = {"FullyConnectedNet": "fcnet-norm-grads-missing"}
