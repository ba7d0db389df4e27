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

__all__ = [
    "GROUP",
    "become_subreaper",
    "cgroup2_parent",
    "descendants",
    "end_below",
    "end_cgroups",
    "join_cgroups",
    "kill_cgroup",
    "kill_tree",
    "reap",
    "sweep",
]

#: The name of a worker's cgroup (v1 pids and v2), by the pid the grader started.
GROUP = "bpverify-worker-{pid}"

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


def end_below(pid: int) -> None:
    """Kill every process below ``pid``, ``pid`` itself left running (between two items)."""
    for child in _children(pid):
        kill_tree(child)


def _children(pid: int) -> list[int]:
    return [c for c, parent in _parents().items() if parent == pid]


def reap() -> None:  # pragma: no cover - runs in the worker
    """Collect ended children (zombies count against the process cap), without waiting."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except InterruptedError:
            continue
        if pid == 0:
            return


# --- cgroups: a cap on processes and a kill that nothing escapes -------------------------------


def cgroup2_parent() -> tuple[str, bool]:
    """A cgroup v2 folder under which the grader may create a worker's cgroup (its own cgroup,
    where writable and ``cgroup.kill`` exists: Linux 5.14+), and whether the child gets a
    ``pids.max``; ("", False) otherwise.  Creates and removes one probe cgroup."""
    if sys.platform != "linux":
        return "", False
    mount = own = ""
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"]:
                mount = left.split()[4]
                break
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as f:
        own = next((line.strip()[3:] for line in f if line.startswith("0::")), "")
    if not mount or not own.startswith("/"):
        return "", False
    parent = os.path.join(mount, own.lstrip("/"))
    probe = os.path.join(parent, GROUP.format(pid=f"probe-{os.getpid()}"))
    try:
        os.mkdir(probe)
    except OSError:
        return "", False
    try:
        if not os.path.exists(os.path.join(probe, "cgroup.kill")):
            return "", False
        return parent, os.path.exists(os.path.join(probe, "pids.max"))
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(probe)


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def join_cgroups(pids_v1: str, v2: str, cap: int) -> list[str]:  # pragma: no cover - worker
    """Move this process (and so everything it will start) into a cgroup of its own under each
    given parent, with ``pids.max`` = ``cap`` where the controller is there.  Returns the
    cgroups joined; raises OSError when one cannot be."""
    joined = []
    for parent in (pids_v1, v2):
        if not parent:
            continue
        group = os.path.join(parent, GROUP.format(pid=os.getpid()))
        with contextlib.suppress(FileExistsError):
            os.mkdir(group)
        if os.path.exists(os.path.join(group, "pids.max")):
            _write(os.path.join(group, "pids.max"), str(cap))
        _write(os.path.join(group, "cgroup.procs"), str(os.getpid()))
        joined.append(group)
    return joined


def _members(group: str) -> list[int]:
    try:
        with open(os.path.join(group, "cgroup.procs")) as f:
            return [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return []


def kill_cgroup(v2: str, pid: int) -> None:
    """Kill every process of the worker's cgroup v2 at once (``cgroup.kill``: nothing forks
    past it, nothing left the tree escapes it)."""
    if v2:
        with contextlib.suppress(OSError):
            _write(os.path.join(v2, GROUP.format(pid=pid), "cgroup.kill"), "1")


def end_cgroups(pids_v1: str, v2: str, pid: int, wait: float = 2.0) -> None:
    """Kill every process of the worker's cgroups (``cgroup.kill`` in v2: atomic, nothing
    forks past it; in v1, each member in turn until none is left), then remove them."""
    import time

    for parent in (v2, pids_v1):
        if not parent:
            continue
        group = os.path.join(parent, GROUP.format(pid=pid))
        if not os.path.isdir(group):
            continue
        if parent == v2:
            with contextlib.suppress(OSError):
                _write(os.path.join(group, "cgroup.kill"), "1")
        end = time.monotonic() + wait
        while time.monotonic() < end:
            members = _members(group)
            for member in members:
                _signal(member, signal.SIGKILL)
            try:
                os.rmdir(group)
                break
            except OSError:
                time.sleep(0.005)


def sweep(parent: str, older_than: float = 60.0) -> None:
    """Remove worker cgroups under ``parent`` that are empty and older than ``older_than``
    seconds: left by a grader that was killed before it could remove its workers' cgroups."""
    import time

    if not parent:
        return
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            if not entry.name.startswith(GROUP.format(pid="")):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > older_than and not _members(entry.path):
                    os.rmdir(entry.path)
