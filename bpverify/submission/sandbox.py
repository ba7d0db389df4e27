"""The worker's sandbox: what the machine offers, the plan, and the code that applies it.

Long because each kernel mechanism's detection (in the grader) and application (in the worker)
stay side by side, so that the plan never promises what the worker does not apply.

Kernel mechanisms only, called through ``ctypes`` (no extra package, Python 3.10-3.13 alike),
each one well kept by the kernel and cheap to set up:

* **Landlock** (Linux 5.13+): an unprivileged, stackable LSM.  The worker may read the Python
  standard library, numpy, the shared libraries and the submission (the list comes from the
  interpreter that runs it: :mod:`bpverify.submission.allowlist`); it may write only its
  scratch folder.  ABI 4+ denies TCP bind/connect, ABI 6+ scopes signals and abstract unix
  sockets to the sandbox.  It also stops ``ptrace`` of anything outside the sandbox.  Unlike a
  mount tree (bubblewrap), rules name paths the grader already knows, need no helper binary and
  no privileges, and do not depend on the directory layout of the Python installation.
* **Namespaces** (``unshare(2)``): a PID namespace (the worker is PID 1: everything it starts,
  ``setsid()`` daemons included, dies with it, and it cannot see or signal the grader), a network
  namespace (no interface but a loopback that is down) and an IPC namespace.  Without root they
  need a user namespace, created in the same call.  PID 1 dies with the worker's outer process
  (``PR_SET_PDEATHSIG``, armed again after the uid drop, which clears it; seccomp keeps the
  submission from clearing it), and the grader kills the worker's whole tree
  (:mod:`bpverify.submission.reaper`).
* **An unprivileged user** when the grader is root (``bpverify-worker`` if it exists, else
  ``nobody``/65534), when Python, numpy and the submission are readable by it; then
  ``RLIMIT_NPROC`` caps its processes.  A worker that stays root (RLIMIT_NPROC never binds
  uid 0) is capped by a cgroup where one is writable (v1 ``pids``, or v2 with the ``pids``
  controller); where none is, seccomp refuses it new processes ("no fork": threads only).
* **Cgroups and a subreaper** for the end of a worker: its own cgroup v2, where writable, is
  killed whole (``cgroup.kill``); the worker is a child subreaper, and without a PID namespace
  the grader kills the processes below it after each item.
* **seccomp** (:mod:`bpverify.submission.seccomp`): no unix sockets, no undoing the two
  ``prctl`` settings above, no other syscall ABI; ``PR_SET_NO_NEW_PRIVS``; an import hook that
  refuses autodiff libraries.

Not defended without namespaces (said in :attr:`Plan.not_defended` and the run's header): the
submission may signal processes of its own user, and if the grader itself is killed, processes
the submission started outlive it (nothing is left to kill them; with a uid drop they run as
that user).

:func:`plan` (in the grader) decides what to use from :func:`detect`; :func:`enter_namespaces`
and :func:`confine` (in the worker) apply it and return what was applied, which the grader
records in the result model.  docs/isolation.md states what each level defends.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import os
import platform
import signal
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bpverify.submission import reaper, seccomp
from bpverify.submission.allowlist import Allowed, readable, stdlib_dirs
from bpverify.submission.loading import import_paths

__all__ = [
    "AUTODIFF_LIBRARIES",
    "MODES",
    "NPROC_CAP",
    "Plan",
    "SandboxUnavailable",
    "Support",
    "confine",
    "detect",
    "enter_namespaces",
    "own_modules",
    "plan",
    "set_where",
]

MODES = ("auto", "require", "off")
#: Processes (threads included) one worker may run: far more than numpy needs.
NPROC_CAP = 64
#: Top-level modules the submission may not import unless the rubric allows autodiff.
AUTODIFF_LIBRARIES = frozenset({
    "jax", "jaxlib", "flax", "haiku", "equinox", "optax", "torch", "functorch", "torchvision",
    "pytorch_lightning", "lightning", "tensorflow", "tf_keras", "keras", "autograd", "mxnet",
    "paddle", "chainer", "theano", "pytensor", "aesara", "mygrad", "tinygrad", "micrograd",
    "autograd_minimize", "casadi",
})
_UNPRIVILEGED = "bpverify-worker"
_NOBODY = 65534

# Linux constants (the same on every architecture for these calls).
_CLONE_NEWIPC, _CLONE_NEWUSER = 0x08000000, 0x10000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_SYS_LANDLOCK = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 14, 1 << 15
_FS_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_FS_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
#: Every filesystem right per Landlock ABI: 13 in ABI 1, REFER in 2, TRUNCATE in 3 (IOCTL_DEV: 5).
_FS_ALL = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class SandboxUnavailable(RuntimeError):
    """``sandbox="require"`` on a machine (or as a user) that cannot contain the worker fully."""


@dataclass(frozen=True)
class Support:
    """What this machine offers the grader, as found by :func:`detect`."""

    system: str
    landlock_abi: int  #: 0: no Landlock
    root: bool
    namespaces: bool  #: PID + network + IPC namespaces (with a user namespace unless root)
    cgroup_pids: str  #: a writable cgroup v1 pids controller, or ""
    why_not: tuple[str, ...] = ()  #: why a mechanism is unavailable
    cgroup2: str = ""  #: a cgroup v2 folder where a worker's cgroup can be made (cgroup.kill)
    cgroup2_pids: bool = False  #: and it gets a pids.max


@dataclass(frozen=True)
class Plan:
    """What the worker will apply; sent to it as plain data (:meth:`to_argv`)."""

    mode: str = "off"
    landlock_abi: int = 0
    namespaces: bool = False
    user_namespace: bool = False
    uid: int = -1  #: drop to this uid/gid (as root), or -1
    gid: int = -1
    cgroup_pids: str = ""
    allow_autodiff: bool = False
    not_defended: tuple[str, ...] = field(default=())
    cgroup2: str = ""  #: the worker's cgroup v2 goes here: killed whole when the worker ends
    cgroup2_pids: bool = False
    no_fork: bool = False  #: seccomp refuses new processes: the cap where nothing else caps

    @property
    def capped(self) -> bool:
        """The worker's processes are capped at NPROC_CAP (threads included)."""
        return (self.uid >= 0 or self.user_namespace or bool(self.cgroup_pids)
                or (bool(self.cgroup2) and self.cgroup2_pids))

    @property
    def full(self) -> bool:
        """Filesystem, network, processes and signals all contained."""
        return self.landlock_abi >= 1 and self.namespaces and self.capped

    def describe(self) -> str:
        if self.mode == "off":
            return "off (resource limits only)"
        parts = [f"landlock abi {self.landlock_abi}"] if self.landlock_abi else []
        if self.namespaces:
            parts += ["pid namespace", "no network"]
        elif self.landlock_abi >= 4:
            parts.append("no tcp")
        if self.uid >= 0:
            parts.append(f"uid {self.uid}")
        if platform.machine() in seccomp.ARCHES and sys.platform == "linux":
            parts.append("seccomp")
            if self.no_fork:
                parts.append("no fork")
        if self.capped:
            parts.append(f"{NPROC_CAP} processes")
        return " + ".join(parts) or "none (resource limits only)"

    def to_argv(self) -> str:
        import json

        return json.dumps(asdict(self))

    @classmethod
    def from_argv(cls, text: str) -> Plan:
        import json

        data = json.loads(text)
        data["not_defended"] = tuple(data.get("not_defended", ()))
        return cls(**data)


# --- detection, in the grader -----------------------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 (not Linux, too old, or disabled at boot)."""
    if sys.platform != "linux":
        return 0
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(ctypes.c_long(_SYS_LANDLOCK["create_ruleset"]), None, ctypes.c_size_t(0),
                       ctypes.c_uint32(1))  # LANDLOCK_CREATE_RULESET_VERSION
    return max(int(abi), 0)


_PROBE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
flags = int(sys.argv[1])
if libc.unshare(flags) != 0:
    print(os.strerror(ctypes.get_errno())); raise SystemExit(1)
print("ok")
"""


@functools.cache
def detect() -> Support:
    """What the machine supports (cached; the namespace probe starts one small process)."""
    system = platform.system()
    if sys.platform != "linux":
        return Support(system, 0, hasattr(os, "geteuid") and os.geteuid() == 0, False, "",
                       (f"{system} has neither Landlock nor Linux namespaces",))
    why = []
    abi = landlock_abi()
    if not abi:
        why.append("the kernel has no Landlock (Linux 5.13+ with lsm=landlock)")
    root = os.geteuid() == 0
    flags = _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC | (0 if root else _CLONE_NEWUSER)
    try:
        run = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE, str(flags)],
                             capture_output=True, text=True, timeout=30)
        namespaces = run.stdout.strip() == "ok"
        if not namespaces:
            why.append(f"namespaces are not available ({run.stdout.strip() or run.stderr[-200:]})")
    except (OSError, subprocess.SubprocessError) as exc:
        namespaces = False
        why.append(f"namespaces could not be probed ({exc})")
    cgroup = ""
    pids = Path("/sys/fs/cgroup/pids")
    if root and (pids / "cgroup.procs").exists() and os.access(pids, os.W_OK):
        cgroup = str(pids)
    cgroup2, cgroup2_pids = reaper.cgroup2_parent()
    for parent in (cgroup, cgroup2):  # what killed graders left behind
        reaper.sweep(parent)
    return Support(system, abi, root, namespaces, cgroup, tuple(why), cgroup2, cgroup2_pids)


def _unprivileged_ids() -> tuple[int, int]:
    try:
        import pwd

        entry = pwd.getpwnam(_UNPRIVILEGED)
        return entry.pw_uid, entry.pw_gid
    except (ImportError, KeyError):
        return _NOBODY, _NOBODY


def _blocked_for(path: Path, uid: int, gid: int) -> str:
    """The first folder on the way to ``path`` (or the path) that ``uid`` may not enter or read."""
    path = path.resolve()
    for part in [*reversed(path.parents), path]:
        try:
            st = os.stat(part)
        except OSError:
            return str(part)
        need = (stat.S_IXOTH if part != path or stat.S_ISDIR(st.st_mode) else 0) | (
            stat.S_IROTH if part == path else 0)
        mode = st.st_mode
        have = ((mode >> 6) & 7 if st.st_uid == uid else
                (mode >> 3) & 7 if st.st_gid == gid else mode & 7)
        if need & ~have:
            return str(part)
    return ""


def _python_paths() -> list[Path]:
    import numpy

    return [*map(Path, stdlib_dirs()), Path(numpy.__file__).parent]


def plan(mode: str = "auto", submission: str | Path | None = None, *,
         allow_autodiff: bool = False) -> Plan:
    """The strongest sandbox this machine supports, for ``mode`` "auto", "require" or "off".

    Raises :class:`SandboxUnavailable` for "require" without full containment (filesystem,
    network, every process and signal), naming what is missing.
    """
    if mode not in MODES:
        raise ValueError(f"sandbox={mode!r}; expected one of {', '.join(MODES)}")
    if mode == "off":
        return Plan(allow_autodiff=allow_autodiff, not_defended=("everything: --sandbox off",))
    sup = detect()
    missing = list(sup.why_not)
    uid = gid = -1
    if sup.root:
        cand_uid, cand_gid = _unprivileged_ids()
        paths = _python_paths() + ([Path(submission)] if submission is not None else [])
        blocked = [b for b in (_blocked_for(p, cand_uid, cand_gid) for p in paths) if b]
        if blocked:
            missing.append(f"the worker keeps the grader's uid 0: {blocked[0]} is not readable by "
                           f"uid {cand_uid} (gradescope-bundle's setup.sh arranges this)")
        else:
            uid, gid = cand_uid, cand_gid
    cgroup = sup.cgroup_pids if sup.root and uid < 0 else ""
    result = Plan(mode=mode, landlock_abi=sup.landlock_abi, namespaces=sup.namespaces,
                  user_namespace=sup.namespaces and not sup.root, uid=uid, gid=gid,
                  cgroup_pids=cgroup, allow_autodiff=allow_autodiff, cgroup2=sup.cgroup2,
                  cgroup2_pids=sup.cgroup2_pids)
    if not result.capped and sys.platform == "linux" and platform.machine() in seccomp.ARCHES:
        result = Plan(**{**asdict(result), "no_fork": True})
    if not result.landlock_abi:
        missing.append("files: the submission can read and write whatever the grader's user can")
    if not result.namespaces:
        missing.append("processes: the submission may signal processes of the same user; if "
                       "the grader itself is killed, processes it started may outlive it")
        missing.append("network: the submission may open connections" if result.landlock_abi < 4
                       else "network: UDP (Landlock denies TCP only)")
    if result.no_fork:
        missing.append(f"process count: no cgroup to cap the worker's processes at {NPROC_CAP}, "
                       "so it may start none (seccomp); a submission that forks fails there")
    elif not result.capped:
        missing.append("process count: no cap on the worker's processes (a fork flood slows "
                       "the machine until its call times out)")
    result = Plan(**{**asdict(result), "not_defended": tuple(missing)})
    if mode == "require" and not result.full:
        raise SandboxUnavailable(
            "--sandbox require: this machine cannot contain the worker fully ("
            + "; ".join(missing) + "); grade elsewhere, or use --sandbox auto to grade anyway")
    return result


# --- applying it, in the worker ---------------------------------------------------------------


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def enter_namespaces(p: Plan, keep_fds: tuple[int, ...]) -> str:  # pragma: no cover - worker
    """Unshare the namespaces and fork: the child (PID 1 of the new PID namespace) returns; this
    process stays outside, waits for it and exits the way it did (so the grader sees a crash or
    an exit status as before).  Returns what was applied ("" if nothing)."""
    _enter_cgroups(p)
    if not p.namespaces:
        return ""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    flags = _CLONE_NEWPID | _CLONE_NEWNET | _CLONE_NEWIPC
    if p.user_namespace:
        flags |= _CLONE_NEWUSER
    try:
        _check(libc.unshare(flags), "unshare")
        if p.user_namespace:  # map our own ids, so files keep their owners
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError:
        if p.mode == "require":
            raise
        return ""
    alive_r, alive_w = os.pipe()
    child = os.fork()
    if child == 0:  # PID 1 of the new namespace
        os.close(alive_w)
        _parent_alive[0] = alive_r  # kept: confine() checks it again after the uid drop
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if _ready(alive_r):  # the parent died before prctl: nobody would end us
            os._exit(0)
        os.setsid()  # its own session: kill(0, ...) reaches nothing outside the namespace
        return "pid namespace + no network"
    os.close(alive_r)
    for fd in keep_fds:
        os.close(fd)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(70)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status))
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


#: Whether this worker joined its cgroups with a pids.max (set by _enter_cgroups).
_cgroup_capped = [False]


def _enter_cgroups(p: Plan) -> None:  # pragma: no cover - runs in the worker
    """Join the worker's own cgroups, before anything else starts: the grader kills them whole
    when the worker ends (cgroup.kill), and pids.max caps its processes."""
    if p.mode == "off" or not (p.cgroup_pids or p.cgroup2):
        return
    try:
        joined = reaper.join_cgroups(p.cgroup_pids, p.cgroup2, NPROC_CAP)
    except OSError:
        if p.mode == "require":
            raise
        return
    _cgroup_capped[0] = any(os.path.exists(os.path.join(g, "pids.max")) for g in joined)


#: PID 1's end of a pipe whose writer is the process outside the namespace (-1: none).
_parent_alive = [-1]


def _die_with_parent(ppid: int) -> None:  # pragma: no cover - runs in the worker
    """Arm PR_SET_PDEATHSIG again: the kernel clears it when the uid changes, and a dropped
    worker that kept running after its parent was killed would outlive its grade (issue 18).
    Exits at once if the parent is already gone (``ppid``: the parent before the change)."""
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    gone = _ready(_parent_alive[0]) if _parent_alive[0] >= 0 else os.getppid() != ppid
    if gone:
        os._exit(0)


def _ready(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0)[0])


def _landlock(abi: int, rules: Allowed, write: list[str]) -> None:  # pragma: no cover - worker
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    fs_all = _FS_ALL[min(abi, 4)] | (_FS_IOCTL_DEV if abi >= 5 else 0)
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = (ctypes.c_uint64 * 3)(fs_all, net, scoped)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _check(libc.syscall(ctypes.c_long(_SYS_LANDLOCK["create_ruleset"]), attr,
                                  ctypes.c_size_t(size), ctypes.c_uint32(0)), "landlock ruleset")

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    try:
        for rights, paths in ((_FS_READ, rules.read), (_FS_READ_DIR, rules.list_only),
                              (fs_all, write), (_FS_READ | _FS_WRITE_FILE, ["/dev/null"])):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights & fs_all
                    if not stat.S_ISDIR(os.fstat(fd).st_mode):
                        allowed &= _FS_FILE_RIGHTS
                    rule = PathBeneath(allowed, fd)
                    _check(libc.syscall(ctypes.c_long(_SYS_LANDLOCK["add_rule"]), ruleset,
                                        ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)),
                           f"landlock rule for {path}")
                finally:
                    os.close(fd)
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(ctypes.c_long(_SYS_LANDLOCK["restrict_self"]), ruleset,
                            ctypes.c_uint32(0)), "landlock restrict_self")
    finally:
        os.close(ruleset)


_where = ["the submission"]


def own_modules(submission: str | Path) -> frozenset[str]:
    """The top-level names that are the submission's own: its package folder's name and the
    modules and packages of its own that it imports."""
    path = Path(submission)
    names = {Path(p).stem if p.endswith(".py") else Path(p).name for p in import_paths(path)}
    return frozenset(names | ({path.name} if path.is_dir() else set()))


def set_where(text: str) -> None:
    """Name what runs now (the file at import, then each item), for the import hook's message."""
    _where[0] = text


class _NoAutodiff:
    """A meta path finder, first in line, that refuses autodiff libraries: never the
    submission's own modules (a learner's own package called ``micrograd``)."""

    def __init__(self, own: frozenset[str] = frozenset()) -> None:
        self.own = own

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.partition(".")[0]
        if top in AUTODIFF_LIBRARIES and top not in self.own:
            raise ImportError(f"{_where[0]} imports {top}: this assignment asks for a "
                              "hand-written backward pass", name=fullname)


def confine(p: Plan, submission: str, scratch: str) -> list[str]:  # pragma: no cover - worker
    """Apply the plan's process-wide parts in the worker, just before it imports the
    submission.  Returns the parts applied; raises OSError in "require" mode when one fails."""
    import resource

    applied: list[str] = []
    if not p.allow_autodiff:
        sys.meta_path.insert(0, _NoAutodiff(own_modules(submission)))
    if p.mode == "off":
        return applied
    try:
        if p.uid >= 0 or p.user_namespace:
            resource.setrlimit(resource.RLIMIT_NPROC, (NPROC_CAP, NPROC_CAP))
        if p.uid >= 0:
            ppid = os.getppid()
            os.setgroups([])
            os.setgid(p.gid)
            os.setuid(p.uid)
            _die_with_parent(ppid)
            applied.append(f"uid {p.uid}")
        if p.landlock_abi:
            _landlock(p.landlock_abi, readable(submission, p.allow_autodiff), [scratch])
            applied.insert(0, f"landlock abi {p.landlock_abi}")
        else:
            _check(_libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        if seccomp.install(no_fork=p.no_fork):
            applied += ["seccomp", "no fork"] if p.no_fork else ["seccomp"]
    except OSError:
        if p.mode == "require":
            raise
    importlib.invalidate_caches()  # forget directory listings read before the sandbox
    sys.path_importer_cache.clear()
    return applied


def describe_applied(p: Plan, namespaces: str, applied: list[str]) -> str:
    """The sandbox as applied by a worker, in :meth:`Plan.describe`'s words."""
    if p.mode == "off":
        return p.describe()
    parts = [a for a in applied if a.startswith("landlock")]
    if namespaces:
        parts.append(namespaces)
    elif p.landlock_abi >= 4 and parts:
        parts.append("no tcp")
    parts += [a for a in applied if a.startswith("uid")]
    parts += [a for a in applied if a in ("seccomp", "no fork")]
    if (p.uid >= 0 and any(a.startswith("uid") for a in applied)) or (
            namespaces and p.user_namespace) or _cgroup_capped[0]:
        parts.append(f"{NPROC_CAP} processes")
    return " + ".join(parts) or "none (resource limits only)"
