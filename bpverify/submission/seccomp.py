"""The worker's seccomp-bpf filter: a few system calls refused, everything else allowed.

* ``socket(AF_UNIX, ...)`` fails with EACCES: Landlock up to ABI 7 does not cover connecting
  to a unix socket by path, so the grader's and the system's sockets stay out of reach.
* ``prctl(PR_SET_PDEATHSIG)`` and ``prctl(PR_SET_CHILD_SUBREAPER)`` fail with EACCES: the
  worker dies with its parent and collects its orphans, and the submission may not undo either.
* With ``no_fork`` (the process cap where nothing else caps processes: a root worker without
  a writable pids cgroup, a user without namespaces), new processes fail with EAGAIN, as
  fork(2) does at a process limit: ``fork``, ``vfork``, and ``clone`` without
  ``CLONE_THREAD``; ``clone3`` fails with ENOSYS, so the C library falls back to ``clone``
  and threads still start (their number is bounded by the address-space limit).
* System calls of another ABI (i386, x32) are refused outright.
"""

from __future__ import annotations

import ctypes
import platform
import sys

__all__ = ["ARCHES", "install", "program"]

#: Per machine: AUDIT_ARCH, then the numbers of socket, prctl, clone, clone3, fork, vfork
#: (0: the architecture has no such call).
ARCHES = {
    "x86_64": (0xC000003E, 41, 157, 56, 435, 57, 58),
    "aarch64": (0xC00000B7, 198, 167, 220, 435, 0, 0),
}
_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 1, 36, 38
_AF_UNIX, _CLONE_THREAD = 1, 0x00010000
_EACCES, _EAGAIN, _ENOSYS = 13, 11, 38
# BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_JMP|JSET|K, BPF_RET|K
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (ARG0: its low 32 bits)

Insn = tuple[int, "int | str", "int | str", int]


def _assemble(code: list[Insn | str]) -> list[tuple[int, int, int, int]]:
    """Resolve jump labels (strings in the jt/jf slots; a bare string marks a label)."""
    labels: dict[str, int] = {}
    flat: list[Insn] = []
    for item in code:
        if isinstance(item, str):
            labels[item] = len(flat)
        else:
            flat.append(item)

    def offset(target: int | str, i: int) -> int:
        return labels[target] - i - 1 if isinstance(target, str) else target

    return [(op, offset(jt, i), offset(jf, i), k) for i, (op, jt, jf, k) in enumerate(flat)]


def program(machine: str, no_fork: bool) -> list[tuple[int, int, int, int]]:
    """The filter for ``machine`` (a ``platform.machine()`` name in :data:`ARCHES`)."""
    audit, nr_socket, nr_prctl, nr_clone, nr_clone3, nr_fork, nr_vfork = ARCHES[machine]
    code: list[Insn | str] = [
        (_LD, 0, 0, _ARCH), (_JEQ, 0, "deny", audit),  # another ABI
        (_LD, 0, 0, _NR), (_JGE, "deny", 0, 0x40000000),  # x32
        (_JEQ, 0, "prctl", nr_socket), (_LD, 0, 0, _ARG0), (_JEQ, "deny", "allow", _AF_UNIX),
        "prctl",
        (_JEQ, 0, "fork", nr_prctl), (_LD, 0, 0, _ARG0),
        (_JEQ, "deny", 0, _PR_SET_PDEATHSIG), (_JEQ, "deny", "allow", _PR_SET_CHILD_SUBREAPER),
        "fork",
    ]
    if no_fork:
        code += [
            (_JEQ, 0, "clone3", nr_clone), (_LD, 0, 0, _ARG0),
            (_JSET, "allow", "eagain", _CLONE_THREAD),
            "clone3", (_JEQ, "enosys", 0, nr_clone3),
        ]
        code += [(_JEQ, "eagain", 0, nr) for nr in (nr_fork, nr_vfork) if nr]
    code += [
        "allow", (_RET, 0, 0, _ALLOW),
        "deny", (_RET, 0, 0, _ERRNO | _EACCES),
        "eagain", (_RET, 0, 0, _ERRNO | _EAGAIN),
        "enosys", (_RET, 0, 0, _ERRNO | _ENOSYS),
    ]
    return _assemble(code)


def install(no_fork: bool) -> bool:  # pragma: no cover - runs in the worker
    """Install the filter on this process (for good: its children inherit it).  False where
    unsupported (not Linux, another architecture); raises OSError if the kernel refuses."""
    machine = platform.machine()
    if sys.platform != "linux" or machine not in ARCHES:
        return False

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Filter))]

    code = program(machine, no_fork)
    prog_filter = (Filter * len(code))(*[Filter(*c) for c in code])
    prog = Prog(len(code), prog_filter)
    libc = ctypes.CDLL(None, use_errno=True)
    for args, what in (((_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs"),
                       ((22, 2, ctypes.byref(prog), 0, 0), "seccomp")):  # PR_SET_SECCOMP
        if libc.prctl(*args) != 0:
            err = ctypes.get_errno()
            import os

            raise OSError(err, f"{what}: {os.strerror(err)}")
    return True
