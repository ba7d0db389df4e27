# ruff: noqa
"""A hostile submission that tries to outlive its grade; AddGate is right.

MultiplyGate unbinds the worker from its parent (``PR_SET_PDEATHSIG`` 0) and spins, so a grader
that killed only the worker's process group would leave it running; ReciprocalGate starts a
``setsid()`` daemon through a double fork (its parent exits, so it is re-parented) and then
spins; ExpGate forks children that ignore every signal they can.  tests/test_lifetime.py checks
that no process of the grade is left once it ends, and once the grader is killed.
"""

import ctypes
import os
import signal
import time


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz


class MultiplyGate:
    def forward(self, x, y):
        ctypes.CDLL(None).prctl(1, 0)  # PR_SET_PDEATHSIG: none
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            pass

    def backward(self, dz):
        return dz, dz


class ReciprocalGate:
    def forward(self, x):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(1, 0)
                while True:
                    time.sleep(0.05)
            os._exit(0)
        while True:
            pass

    def backward(self, dz):
        return dz


class ExpGate:
    def forward(self, x):
        for _ in range(5):
            if os.fork() == 0:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_IGN)
                while True:
                    time.sleep(0.05)
        while True:
            pass

    def backward(self, dz):
        return dz
