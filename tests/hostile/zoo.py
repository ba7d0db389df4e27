# ruff: noqa
"""A hostile submission: each gate misbehaves in its own way; AddGate and relu_forward are right.

bpverify's isolation tests grade it and expect every misbehaving item to fail with a clear
message while the right ones keep their marks.
"""

import ctypes
import os
import signal
import sys

import numpy as np

print("import-time noise " * 100_000)  # about 1.7 MB
os.write(1, b"\x00not a frame\n" * 10_000)  # straight to the file descriptors, past sys.stdout
os.write(2, b"\x00not a frame\n" * 10_000)


class AddGate:
    """Right, but prints megabytes on every call, to every stream it can find."""

    def forward(self, x, y):
        print("forward noise " * 100_000)
        sys.stderr.write("\x00\x1b[31m" * 1000)
        sys.__stdout__.write("#" * 100_000)
        os.write(1, b"\x00" * 100_000)
        return x + y

    def backward(self, dz):
        print("backward noise " * 100_000)
        return dz, dz


class MultiplyGate:
    """Hangs, ignoring SIGTERM and SIGINT."""

    def forward(self, x, y):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass

    def backward(self, dz):
        return dz, dz


class MaxGate:
    """Calls sys.exit."""

    def forward(self, x, y):
        sys.exit(3)

    def backward(self, dz):
        return dz, dz


class ExpGate:
    """Ends the process with os._exit."""

    def forward(self, x):
        os._exit(7)

    def backward(self, dz):
        return dz


class ReciprocalGate:
    """Segfaults."""

    def forward(self, x):
        return ctypes.string_at(0)

    def backward(self, dz):
        return dz


class AddConstGate:
    """Allocates until the memory limit stops it."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        hog = []
        while True:
            hog.append(np.ones(2**22))  # 32 MB each, touched

    def backward(self, dz):
        return dz


class ScaleGate:
    """Raises an exception with a 10 MB message full of control characters."""

    def __init__(self, a):
        self.a = a

    def forward(self, x):
        raise ValueError("\x00\x1b[2J<&>\"\ud800" + "x" * 10_000_000)

    def backward(self, dz):
        return dz


class SigmoidGate:
    """Raises KeyboardInterrupt."""

    def forward(self, x):
        raise KeyboardInterrupt

    def backward(self, dz):
        return dz


class SigmoidNeuron:
    """Sends SIGINT to its own process."""

    def forward(self, w, x):
        os.kill(os.getpid(), signal.SIGINT)
        return 0.0

    def backward(self, dz):
        return dz, dz


def relu_forward(x):
    return np.maximum(x, 0.0), x
