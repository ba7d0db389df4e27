"""A warm start for a batch's workers: one zygote per grading process forks each worker.

Starting a worker the ordinary way (``python -I -B -c BOOT``, :mod:`bpverify.submission.worker`)
costs about 0.2 s of CPU before the submission is even read: the interpreter, numpy and
``bpverify.submission``.  A batch starts one worker per submission.  The zygote is such a
process started once per grading process (:func:`use_zygote`), with those modules imported and
nothing else: no submission, no data, no sandbox.  For each worker it forks a child, which
becomes exactly what a fresh worker would be at the same point (:func:`_become_worker`): its
own session, working directory and environment, the grader's two pipes as its only
descriptors besides the standard ones, then :func:`~bpverify.submission.child.serve` with the
same arguments, which enters the sandbox and loads the submission as it always does.  A child
never sees another submission's data: the zygote holds none (each worker's pipes are closed in
the zygote as soon as the child has them), and what one worker does stays in its own process.

The grader talks to the zygote over a socket pair (a message per request, the pipes passed as
``SCM_RIGHTS``): ``launch`` (the child's pid back), ``ended`` (``waitid`` without reaping) and
``wait`` (reap; the exit status back, negative for a signal, as ``Popen.returncode``).  The
zygote reaps a child only when asked, as ``Popen`` does, so that a worker's pid (its process
group) stays reserved until the grader has killed the group.  It dies with its grading process
(``PR_SET_PDEATHSIG``, and end of file on the socket); its children die with it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["Launched", "Zygote", "use_zygote", "zygote"]

#: The zygote's boot: the stub ``bpverify`` package of the worker's BOOT, then the loop.
ZYGOTE_BOOT = """\
import sys, types
pkg = types.ModuleType("bpverify")
pkg.__path__ = [sys.argv[1]]
sys.modules["bpverify"] = pkg
from bpverify.submission.zygote import serve_zygote
serve_zygote(int(sys.argv[2]), int(sys.argv[3]))
"""

_MESSAGE = 65536
_STATE: dict[str, Any] = {"on": False, "zygote": None, "pid": -1}
_LOCK = threading.Lock()


def use_zygote(on: bool = True) -> None:
    """Start this process's workers from a zygote (``on``), or each the ordinary way."""
    with _LOCK:
        _STATE["on"] = on
        if not on and _STATE["zygote"] is not None:
            _STATE["zygote"].close()
            _STATE["zygote"] = None


def zygote(package_dir: str, env: dict[str, str]) -> Zygote | None:
    """This process's zygote (started on first use), or None when :func:`use_zygote` is off or
    the zygote cannot start (then workers start the ordinary way)."""
    with _LOCK:
        if not _STATE["on"]:
            return None
        z = _STATE["zygote"]
        if z is not None and (_STATE["pid"] != os.getpid() or not z.alive()):
            z = _STATE["zygote"] = None  # a forked copy of this process, or it died
        if z is None:
            try:
                z = Zygote(package_dir, env)
            except OSError:
                return None
            _STATE["zygote"], _STATE["pid"] = z, os.getpid()
        return z


class Launched:
    """A worker the zygote forked: the part of ``subprocess.Popen`` a WorkerExecutor uses."""

    def __init__(self, owner: Zygote, pid: int) -> None:
        self.owner, self.pid = owner, pid
        self.returncode: int | None = None

    def ended(self) -> bool:
        """Whether it has ended (not reaped: its pid stays reserved until :meth:`wait`)."""
        if self.returncode is not None:
            return True
        reply = self.owner.ask({"op": "ended", "pid": self.pid})
        return reply is None or bool(reply.get("ended"))

    def wait(self) -> int | None:
        """Reap it; its exit status as ``Popen.returncode`` (None if the zygote is gone)."""
        if self.returncode is None:
            reply = self.owner.ask({"op": "wait", "pid": self.pid})
            status = reply.get("status") if reply else None
            self.returncode = status if isinstance(status, int) else None
        return self.returncode


class Zygote:
    """The grader's handle on a zygote process (see the module docstring)."""

    def __init__(self, package_dir: str, env: dict[str, str]) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", ZYGOTE_BOOT, package_dir,
                 str(theirs.fileno()), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                cwd="/", env=env, pass_fds=(theirs.fileno(),), start_new_session=True,
            )
        finally:
            theirs.close()
        self.sock = mine
        self._lock = threading.Lock()
        if self.ask({"op": "hello"}) != {"hello": True}:
            self.close()
            raise OSError("the zygote did not start")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, message: dict[str, Any], fds: Sequence[int] = ()) -> dict[str, Any] | None:
        """One request and its reply; None if the zygote is gone."""
        with self._lock:
            try:
                data = json.dumps(message).encode()
                if fds:
                    socket.send_fds(self.sock, [data], list(fds))
                else:
                    self.sock.send(data)
                reply = self.sock.recv(_MESSAGE)
            except OSError:
                return None
        if not reply:
            return None
        try:
            value = json.loads(reply)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def launch(self, argv: list[str], fds: tuple[int, int], cwd: str,
               env: dict[str, str]) -> Launched:
        """Fork a worker that runs ``serve(argv)`` with ``fds`` (the request pipe's read end and
        the reply pipe's write end, whose numbers it substitutes for ``{req}`` and ``{resp}``
        in argv).  Raises OSError if the zygote cannot."""
        reply = self.ask({"op": "launch", "argv": argv, "cwd": cwd, "env": env}, fds)
        pid = reply.get("pid") if reply else None
        if not isinstance(pid, int) or pid <= 0:
            raise OSError(f"the zygote could not start a worker: {reply}")
        return Launched(self, pid)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)


# --- the zygote's side ---------------------------------------------------------------------


def serve_zygote(fd: int, grader: int) -> None:  # pragma: no cover - runs in the zygote
    """The zygote's loop: import what a worker imports, then answer the grader's requests."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the grader
    if os.getppid() != grader:
        os._exit(0)
    sock = socket.socket(fileno=fd)
    from bpverify import registry
    from bpverify.submission import child

    registry.load_worker_side()
    # What is loaded now stays out of every later collection (gc.freeze): a child's
    # collections would otherwise walk, and so copy page by page, the zygote's whole heap.
    gc.collect()
    gc.freeze()
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, _MESSAGE, 2)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the grader is gone
        try:
            message = json.loads(data)
            reply = _answer(message, fds, sock, child.serve)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for f in fds:
                with contextlib.suppress(OSError):
                    os.close(f)  # the worker has its own copies; the zygote keeps none
        sock.send(json.dumps(reply).encode())


def _answer(message: dict[str, Any], fds: list[int], sock: socket.socket,
            serve: Any) -> dict[str, Any]:  # pragma: no cover - runs in the zygote
    op = message.get("op")
    if op == "hello":
        return {"hello": True}
    if op == "launch":
        if len(fds) != 2:
            raise ValueError(f"launch needs 2 descriptors, got {len(fds)}")
        pid = os.fork()
        if pid == 0:
            _become_worker(message, fds, sock, serve)
        return {"pid": pid}
    if op == "ended":
        try:
            return {"ended": os.waitid(os.P_PID, int(message["pid"]),
                                       os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None}
        except ChildProcessError:
            return {"ended": True}
    if op == "wait":
        try:
            _, status = os.waitpid(int(message["pid"]), 0)
        except ChildProcessError:
            return {"status": None}
        return {"status": os.waitstatus_to_exitcode(status)}
    raise ValueError(f"unknown request {op!r}")


def _become_worker(message: dict[str, Any], fds: list[int], sock: socket.socket,
                   serve: Any) -> None:  # pragma: no cover - runs in a forked worker
    """In the forked child: what ``Popen(start_new_session=True, cwd=..., env=...,
    pass_fds=...)`` gives a fresh worker, then the worker's loop; never returns."""
    try:
        sock.close()
        os.setsid()
        os.chdir(message["cwd"])
        os.environ.clear()
        os.environ.update(message["env"])
        req, resp = fds
        for f in _open_fds():
            if f not in (0, 1, 2, req, resp):
                with contextlib.suppress(OSError):
                    os.close(f)
        argv = [a.replace("{req}", str(req)).replace("{resp}", str(resp))
                for a in message["argv"]]
        serve(argv)
    except BaseException:
        os._exit(3)
    os._exit(0)


def _open_fds() -> list[int]:  # pragma: no cover - runs in a forked worker
    try:
        return [int(n) for n in os.listdir("/proc/self/fd")]
    except OSError:
        return list(range(3, 256))
