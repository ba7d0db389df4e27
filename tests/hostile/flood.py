# ruff: noqa
"""A fork flood that is otherwise right: every AddGate.forward call starts 150 children that
sleep 30 s, then returns the right answer; MultiplyGate is right and forks nothing.

Where the worker's processes are capped (a pids cgroup, RLIMIT_NPROC for a dropped uid, or
seccomp's "no fork"), forking fails at the cap and the call returns at once; uncapped, each call
forks 150 more, the item runs out of its time budget and the machine fills with sleepers.
tests/test_fallback.py grades it without CAP_SYS_ADMIN (no namespaces).
"""

import os
import time


class AddGate:
    def forward(self, x, y):
        for _ in range(150):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
        return x + y

    def backward(self, dz):
        return dz, dz


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dz):
        return dz * self.y, dz * self.x
