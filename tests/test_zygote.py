"""A batch's workers are forked by a zygote: each must be what a freshly started worker is.

The zygote (bpverify/submission/zygote.py) imports numpy and bpverify.submission once per
grading process and forks a worker per submission.  These tests start workers both ways and
compare what a submission can see: its sandbox, what an earlier submission left in memory, the
zygote's descriptors, random numbers, and how a crash reads.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpverify.submission import LoadSpec, StudentError
from bpverify.submission.worker import WorkerExecutor
from bpverify.submission.zygote import use_zygote, zygote

PACKAGE = str(Path(__file__).resolve().parent.parent / "bpverify")

LEAVES_STATE = '''
import numpy as np
np.left_behind = 7.0          # module state an earlier submission leaves in the worker
import builtins
builtins.left_behind = 7.0

class AddGate:
    def forward(self, x, y):
        return x + y
    def backward(self, dz):
        return dz, dz
'''

READS_STATE = '''
import numpy as np
import builtins

class AddGate:
    def forward(self, x, y):
        return x + y + getattr(np, "left_behind", 0.0) + getattr(builtins, "left_behind", 0.0)
    def backward(self, dz):
        return dz, dz
'''

RANDOM = '''
import numpy as np
import random

class AddGate:
    def forward(self, x, y):
        return x + y + np.random.rand() + random.random()
    def backward(self, dz):
        return dz, dz
'''

CRASHES = '''
import ctypes

class AddGate:
    def forward(self, x, y):
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    def backward(self, dz):
        return dz, dz
'''


@pytest.fixture
def forked() -> Iterator[None]:
    use_zygote(True)
    try:
        yield
    finally:
        use_zygote(False)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name / "gates.py"
    path.parent.mkdir()
    path.write_text(text)
    return path


def _forward(path: Path) -> tuple[float, str]:
    with WorkerExecutor(path, LoadSpec(), timeout=10) as ex:
        value = ex.call("gate_forward", name="AddGate", const=None, inputs=[1.5, 2.0])
        return float(value), ex.sandbox


def _zygote_fds() -> list[str]:
    z = zygote(PACKAGE, {})
    assert z is not None
    return sorted(os.listdir(f"/proc/{z.proc.pid}/fd"))


def test_a_forked_worker_starts_clean_and_confined_as_a_fresh_one(tmp_path: Path,
                                                                  forked: None) -> None:
    fresh_value, fresh_sandbox = _forward_fresh(_write(tmp_path, "reads0", READS_STATE))
    _forward(_write(tmp_path, "first", READS_STATE))  # the zygote starts
    before = _zygote_fds()
    _forward(_write(tmp_path, "leaves", LEAVES_STATE))
    value, sandbox = _forward(_write(tmp_path, "reads", READS_STATE))
    assert value == fresh_value == 3.5  # nothing the earlier submission left is seen
    assert sandbox == fresh_sandbox
    assert _zygote_fds() == before  # the zygote kept no worker's pipes


def _forward_fresh(path: Path) -> tuple[float, str]:
    use_zygote(False)
    try:
        return _forward(path)
    finally:
        use_zygote(True)


def test_unseeded_randomness_is_the_same_in_every_worker(tmp_path: Path, forked: None) -> None:
    path = _write(tmp_path, "random", RANDOM)
    first, _ = _forward(path)
    second, _ = _forward(path)
    fresh, _ = _forward_fresh(path)
    assert first == second == fresh != 3.5


def test_a_crash_reads_the_same_in_a_forked_worker(tmp_path: Path, forked: None) -> None:
    path = _write(tmp_path, "crash", CRASHES)
    errors = []
    for start in (_forward, _forward_fresh):
        with pytest.raises(StudentError) as info:
            start(path)
        errors.append((info.value.exc_type, info.value.message.split(";")[0]))
    assert errors[0] == errors[1]
    assert errors[0][0] == "Crash" and "SIGSEGV" in errors[0][1]


def test_a_dead_zygote_is_replaced(tmp_path: Path, forked: None) -> None:
    path = _write(tmp_path, "plain", READS_STATE)
    z = zygote(PACKAGE, {})
    assert z is not None
    os.kill(z.proc.pid, signal.SIGKILL)
    z.proc.wait()
    assert _forward(path)[0] == 3.5
    again = zygote(PACKAGE, {})
    assert again is not None and again is not z and again.alive()
