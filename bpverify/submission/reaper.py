"""Ending a worker's whole process tree, whatever its processes did to get away.

A worker may leave processes behind in three ways: a child that left the worker's process group
(``setsid()``), PID 1 of the worker's PID namespace (its own session, and after the uid drop no
longer bound to its parent by ``PR_SET_PDEATHSIG``, which the kernel clears when the uid
changes), and a forked child whose parent exited (re-parented, so no longer a descendant).  The
grader ends a worker with :func:`kill_tree`, which stops the tree before killing it, so that a
fork flood cannot outrun it; the worker makes itself a child subreaper (:func:`become_subreaper`)
so that orphans come back to it instead of to init, and stay in its tree.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

__all__ = ["become_subreaper", "descendants", "kill_tree"]

_PR_SET_CHILD_SUBREAPER = 36
#: Rounds of stopping newly found processes before the tree is taken as complete.
_ROUNDS = 50


def _parents() -> dict[int, int]:
    """Each process's parent, from /proc (processes that vanish meanwhile are skipped)."""
    out = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2:].split()
            if len(fields) > 1:
                out[int(name)] = int(fields[1])
    return out


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children first), from a walk of /proc; [] off Linux."""
    if sys.platform != "linux":
        return []
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop(0)
        if p not in found:
            found.append(p)
            todo += children.get(p, [])
    return found


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process below it.  The tree is frozen first (SIGSTOP, which no
    process can ignore, until a walk finds nothing new), so that a process forking in a loop
    cannot add children faster than they are killed; then all of it is killed, ``pid`` last."""
    seen: dict[int, None] = {}
    _signal(pid, signal.SIGSTOP)
    for _ in range(_ROUNDS):
        new = [p for p in descendants(pid) if p not in seen]
        if not new:
            break
        for p in new:
            _signal(p, signal.SIGSTOP)
            seen[p] = None
    for p in [*seen, pid]:
        _signal(p, signal.SIGKILL)


def become_subreaper() -> bool:  # pragma: no cover - runs in the worker
    """Make this process a child subreaper (Linux 3.4+): an orphan below it (a double-forked
    daemon) is re-parented to it rather than to init, and so stays in its tree.  False where
    unsupported."""
    if sys.platform != "linux":
        return False
    return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
