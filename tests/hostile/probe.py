# ruff: noqa
"""Reports, through AddGate.forward's output, what the worker's environment looks like."""

import os
import resource
import sys
import tempfile


class AddGate:
    def forward(self, x, y):
        return (
            float("jax" in sys.modules),
            float("hypothesis" in sys.modules),
            float("BPVERIFY_TEST_SECRET" in os.environ),
            float(os.getcwd().startswith(tempfile.gettempdir())),
            resource.getrlimit(resource.RLIMIT_AS)[0] / 2**20,
            float(len(os.environ)),
        )

    def backward(self, dz):
        return dz, dz


class MultiplyGate:
    """Slow: 0.2 s per call."""

    def forward(self, x, y):
        import time

        time.sleep(0.2)
        return x * y

    def backward(self, dz):
        return dz, dz
