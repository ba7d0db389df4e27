# ruff: noqa
"""Daemons that try to speak on the worker's pipes for a later item (issue 22, part 1).

tests/test_sandbox.py writes a submission made of the reference's gates and layers, a header
of constants (CONFIG) and this file.  A forked process is a copy of the worker, its pipes and
its request loop included.  Each daemon waits until a later item (relu_forward) has started,
then acts while that item's first call is running; if it got through, that item would fail
with "a reply to request N while waiting for M".  Every item computes the right answer.
"""

import os
import time

_done = set()


def _once(name):
    if name in _done:
        return False
    _done.add(name)
    return True


def _wait_for_the_later_item():
    end = time.monotonic() + 20  # bounded: a daemon nobody stopped ends by itself
    while not os.path.exists("later-item-started") and time.monotonic() < end:
        time.sleep(0.01)


class AddConstGate(AddConstGate):  # the double-forked setsid daemon of the issue
    def forward(self, x):
        if _once("daemon") and os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                _wait_for_the_later_item()
                # Denied by the sandbox: the PermissionError unwinds out of forward() into
                # the copy of the worker's request loop, which would answer the grader.
                with open(CONFIG["daemon_file"], "w") as f:
                    f.write("DAEMON")
            os._exit(0)
        return super().forward(x)


class MultiplyGate(MultiplyGate):  # a daemon that writes a forged reply into every descriptor
    def forward(self, x, y):
        if _once("forger") and os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                _wait_for_the_later_item()
                head = b'{"t":[999999,"ok",null]}'
                body = len(head).to_bytes(4, "little") + head
                frame = len(body).to_bytes(4, "little") + body
                for fd in range(64):
                    try:
                        os.write(fd, frame)
                    except OSError:
                        pass
            os._exit(0)
        return super().forward(x, y)


_relu_forward = relu_forward


def relu_forward(x):  # the later item: its first call gives the daemons time to act
    if _once("later"):
        open("later-item-started", "w").close()
        time.sleep(0.5)
    return _relu_forward(x)
