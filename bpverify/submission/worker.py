"""Run a submission in an isolated worker process; only plain data comes back to the grader.

This is the grader's side; the child's side (its boot, limits and serve loop) is
:mod:`bpverify.submission.child`, and the byte codec :mod:`bpverify.submission.wire`.

:class:`WorkerExecutor` implements the :class:`~bpverify.submission.Executor` protocol.  Student
code runs in one long-lived child process per submission (``python -I -B -c <boot>``, not
``multiprocessing``: its connections unpickle what they receive, and we never unpickle anything
the worker produced).  The child gets a clean environment, a temporary working directory, its
own session (so a SIGKILL to the process group also ends whatever the submission spawned), and
resource limits on address space, core dumps and file size.

The two processes talk over two dedicated pipes, never stdout: a frame is a 4-byte length, the
request's 4-byte sequence number and a body; a reply's body is a JSON tree (tagged: tuples,
dicts, arrays, :class:`~bpverify.contract.Opaque`) followed by the arrays it refers to, each
written by ``np.save`` and read by ``np.load`` with ``allow_pickle=False``; requests, from the
grader, are pickled (the codec: :mod:`bpverify.submission.wire`). In a batch the worker is
forked by the grading process's zygote (:mod:`bpverify.submission.zygote`) instead of started
afresh. The submission's prints go to a bounded in-memory buffer whose tail is attached to its
error messages. Every reply is checked by the grader before it is used, and all judging happens
in the grader. A batch may also ask a call another submission's grade recorded and compare the
reply's bytes with the recorded ones (by digest: :meth:`WorkerExecutor.rerun`): the same bytes
back, and nothing needs judging.
docs/isolation.md states the threat model.

The worker imports numpy and ``bpverify.submission``/``.contract``/``.options`` only (never JAX or
Hypothesis): it is started with a stub ``bpverify`` package (``child.BOOT``) so that
``bpverify/__init__.py`` and the engine it imports are not loaded.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bpverify.contract import ContractError
from bpverify.options import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    MIN_MEMORY_MB,
    Sandbox,
    check_memory_mb,
    check_sandbox,
    check_timeout,
)
from bpverify.submission import LoadSpec, StudentError, Tape, reaper
from bpverify.submission.child import BOOT, INTERRUPTED, MAX_FRAME, where
from bpverify.submission.protocol import reply_digest
from bpverify.submission.sandbox import plan as sandbox_plan
from bpverify.submission.wire import LENGTH, SEQ, ProtocolError, decode, encode, encode_request
from bpverify.submission.zygote import Launched, zygote

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "MIN_MEMORY_MB",
    "ProtocolError",
    "WorkerExecutor",
    "WorkerStartError",
    "decode",
    "encode",
]

#: An item's calls together may take this many times the per-call limit.
ITEM_BUDGET_FACTOR = 10
#: Starting a worker (interpreter, numpy, the submission's import) may take this much longer than
#: one call: about 0.1 s on an idle machine, several times that on a loaded one.
STARTUP_GRACE = 3.0
_LEN = LENGTH  #: the frame-length prefix (the codec lives in wire.py)
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")
#: The bpverify folder: the worker imports bpverify.submission from it under a stub package.
_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


class WorkerStartError(RuntimeError):
    """The worker could not start before reaching the submission (not the student's fault)."""


# --- the grader's side ---------------------------------------------------------------------


class _Lost(Exception):
    """The worker stopped answering: timed out, died, or broke the protocol."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


class WorkerExecutor:
    """Runs scenarios in an isolated worker process (see the module docstring).

    ``timeout`` limits each call (seconds, wall clock); a call that overruns is killed with
    SIGKILL and fails with a StudentError, and the worker restarts for the next call.
    ``item_budget`` (default ``ITEM_BUDGET_FACTOR * timeout``) limits an item's calls together.
    Once a call of an item has timed out, crashed or run out of memory, the item's remaining
    calls fail at once with the same error (the engine announces items via :meth:`begin_item`).
    ``memory_mb`` is the worker's address-space limit (RLIMIT_AS).  ``sandbox`` ("auto",
    "require" or "off") says how the worker is confined (docs/isolation.md).  The limits are
    checked as :class:`bpverify.options.GradeOptions` checks them.  ``load_spec`` says how the
    worker loads the submission (a rubric's layout and name lookup); it is sent as plain data.
    On Linux the worker dies with the thread that started it (PR_SET_PDEATHSIG), so create and
    use an executor from one thread.
    """

    def __init__(
        self,
        path: str | Path,
        load_spec: LoadSpec | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_mb: int = DEFAULT_MEMORY_MB,
        item_budget: float | None = None,
        sandbox: Sandbox = "auto",
    ) -> None:
        timeout = check_timeout(timeout)
        memory_mb = check_memory_mb(memory_mb)
        self.sandbox_mode = check_sandbox(sandbox)
        allow = (load_spec or LoadSpec()).options.get("allow_autodiff", False)
        #: What confines the worker (raises SandboxUnavailable for "require" without it all).
        self.plan = sandbox_plan(self.sandbox_mode, path, allow_autodiff=bool(allow))
        #: The sandbox as the last worker applied it (before the first start: as planned).
        self.sandbox = self.plan.describe()
        if item_budget is not None and not item_budget >= timeout:
            raise ValueError(f"item_budget={item_budget!r} is less than timeout={timeout!r}")
        self.path = Path(path).resolve()
        self.load_spec = load_spec or LoadSpec()
        self.timeout = float(timeout)
        self.memory_mb = memory_mb
        self.item_budget = float(item_budget or ITEM_BUDGET_FACTOR * timeout)
        self.calls = 0  #: calls answered or failed
        self.starts = 0  #: workers started (1 + restarts)
        self._proc: subprocess.Popen[bytes] | Launched | None = None
        self._req = self._resp = -1
        self._inbox = bytearray()  #: bytes read from the worker, not yet taken
        self._home: str | None = None
        self._seq = 0
        self._tape: Tape | None = None
        #: Calls :meth:`rerun` asked, to answer the grader's same calls with (in order).
        self._preload: deque[tuple[bytes, bytes | _Lost]] = deque()
        self._item: str | None = None
        self._item_used = 0.0
        self._item_error: StudentError | None = None

    # -- the Executor protocol --

    def call(self, scenario: str, **kwargs: Any) -> Any:
        err = self._item_error
        if err is None:
            if not self._preload:  # (rerun counted those it asked)
                self.calls += 1
            try:
                if self._proc is None:
                    self._start()
                return self._ask(scenario, kwargs)
            except _Lost as lost:
                err = self._failure(lost, where(scenario, kwargs, self.path))
            if scenario == "inventory":  # the grade goes on: every item says why it got nothing
                return {"names": {}, "load_errors": [str(err)]}
            if self._item is not None:
                self._item_error = err
        # One raise for the first failure and the repeats: Hypothesis tells failures apart by
        # where they were raised, and these are one failure.
        raise StudentError(err.where, err.exc_type, err.message, err.tb,
                           got_name=err.got_name, expected_name=err.expected_name)

    def begin_item(self, name: str) -> None:
        """A new item starts: it gets a fresh time budget, and earlier failures are forgotten."""
        self._item, self._item_used, self._item_error = name, 0.0, None
        if self._proc is not None and "pid namespace" not in self.sandbox:
            # What the last item started ends with it (in a PID namespace the worker ends it
            # after each call); the worker is a subreaper, so its orphans are in its tree.
            reaper.end_below(self._proc.pid)

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> WorkerExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_proc", None) is not None:
            with contextlib.suppress(Exception):  # at interpreter exit modules may be gone
                self._stop()

    # -- starting and stopping --

    def _start(self) -> None:
        self._home = tempfile.mkdtemp(prefix="bpverify-worker-")
        cwd = Path(self._home, "cwd")
        cwd.mkdir()
        if self.plan.uid >= 0:  # the unprivileged worker may enter its home and own its cwd
            os.chmod(self._home, 0o711)
            os.chown(cwd, self.plan.uid, self.plan.gid)
        crash = Path(self._home, "crash.txt")
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env.update(HOME=str(cwd), TMPDIR=str(cwd), OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        rest = [str(self.path), str(self.memory_mb)]
        tail = [self.plan.to_argv(), str(crash)]
        try:
            # In a batch, forked by this process's zygote (warm: numpy already imported),
            # else started afresh; the worker is the same from serve() on.
            warm = zygote(_PACKAGE_DIR, _zygote_env(env))
            if warm is not None:
                with contextlib.suppress(OSError):
                    self._proc = warm.launch(["{req}", "{resp}", *rest, str(warm.proc.pid),
                                              *tail], (req_r, resp_w), str(cwd), env)
            if self._proc is None:
                self._proc = subprocess.Popen(
                    [sys.executable, "-I", "-B", "-c", BOOT, _PACKAGE_DIR,
                     str(req_r), str(resp_w), *rest, str(os.getpid()), *tail],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, cwd=cwd, env=env, pass_fds=(req_r, resp_w),
                    start_new_session=True,
                )
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.starts += 1
        self._req, self._resp = req_w, resp_r
        os.set_blocking(req_w, False)
        os.set_blocking(resp_r, False)
        deadline = time.monotonic() + self.timeout + STARTUP_GRACE
        try:
            self._expect(self._receive(deadline), "booted")
        except _Lost as lost:
            detail = self._crash_text() or lost.detail
            self._stop()
            raise WorkerStartError(
                f"the isolated worker did not start ({lost.reason}); {detail}".strip()
            ) from None
        spec = self.load_spec
        try:
            request = SEQ.pack(0) + encode_request(("load", (spec.layout, spec.options,
                                                              spec.lookup)))
            self._send(_LEN.pack(len(request)) + request, deadline)
            ready = self._receive(deadline)
            self._expect(ready, "ready")
            if isinstance(ready[2], str):
                self.sandbox = ready[2]
        except _Lost as lost:
            if lost.reason == "timeout":
                lost.detail = (f"did not finish importing within {self.timeout + STARTUP_GRACE:g}"
                               f" s (--timeout {self.timeout:g} plus {STARTUP_GRACE:g} s to "
                               "start a worker). Code at the top level of a file runs when it "
                               "is imported (training a network, drawing plots): give it the "
                               "time it needs with --timeout SECONDS (each worker imports it "
                               "once), or move it under if __name__ == '__main__' (then it runs "
                               "only as a script)")
            raise

    def _expect(self, reply: tuple[Any, ...], kind: str) -> None:
        if reply[:2] != (0, kind):
            raise _Lost("protocol", f"expected {kind!r}, got {str(reply)[:80]}")

    def _stop(self) -> int | None:
        """Kill the worker's whole process group; its exit status if it had ended by itself."""
        proc, status = self._proc, None
        if proc is not None:
            ended = _has_ended(proc)
            reaper.kill_cgroup(self.plan.cgroup2, proc.pid)  # all of it at once, where we can
            reaper.kill_tree(proc.pid)  # PID 1 of its namespace, setsid() children, orphans
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group: what the submission forked too
            proc.wait()
            status = proc.returncode if ended else None
            reaper.end_cgroups(self.plan.cgroup_pids, self.plan.cgroup2, proc.pid)
        for fd in (self._req, self._resp):
            if fd >= 0:
                os.close(fd)
        self._proc, self._req, self._resp = None, -1, -1
        self._inbox.clear()
        self._preload.clear()
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None
        return status

    def _crash_text(self) -> str:
        """What faulthandler wrote on a crash (the Python stack at the segfault), if anything."""
        if self._home is None:
            return ""
        try:
            with open(Path(self._home, "crash.txt"), "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - 1500))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    # -- one call --

    def _ask(self, scenario: str, kwargs: dict[str, Any]) -> Any:
        body = encode_request((scenario, kwargs))
        served = self._served(body)
        reply = self._exchange(body) if served is None else served
        try:
            kind, payload = decode(reply)
        except (ProtocolError, TypeError, ValueError):
            raise _Lost("protocol", f"a reply that is not (kind, value): {reply[:80]!r}") from None
        if kind == "ok":
            return _checked(scenario, payload)
        if kind == "contract" and isinstance(payload, tuple) and len(payload) == 2 \
                and isinstance(payload[0], str) and isinstance(payload[1], dict):
            raise _contract_error(*payload)
        if kind == "student" and isinstance(payload, tuple) and len(payload) == 6 \
                and all(isinstance(p, str) for p in payload):
            where, exc_type, message, tb, got_name, expected_name = payload
            err = StudentError(where, exc_type, message, tb, got_name=got_name,
                               expected_name=expected_name)
            if err.exc_type == "MemoryError":  # restart: the worker may be left without memory
                raise _Lost("memory", f"{err.message} (out of memory: the worker's limit is "
                            f"{self.memory_mb} MB, --memory)")
            raise err
        raise _Lost("protocol", f"a reply of kind {str(kind)[:40]!r}")

    def _exchange(self, body: bytes) -> bytes:
        """Send one request's body, return the reply's body (not decoded); a tape being
        recorded gets the request and the reply's digest, and is spoilt by a call that did not
        come back."""
        self._seq += 1
        budget_left = self.item_budget - self._item_used if self._item else math.inf
        limit = min(self.timeout, budget_left)
        start = time.monotonic()
        try:
            self._send(_LEN.pack(SEQ.size + len(body)) + SEQ.pack(self._seq) + body,
                       start + limit)
            seq, reply = self._receive_raw(start + limit)
        except _Lost as lost:
            if self._tape is not None:
                self._tape.spoilt = True
            if lost.reason == "timeout":
                lost.detail = (
                    f"timed out after {self.timeout:g} s (the limit per call, --timeout)"
                    if limit == self.timeout else
                    f"used up the item's time budget of {self.item_budget:g} s "
                    f"({ITEM_BUDGET_FACTOR} x --timeout)"
                )
            raise
        finally:
            if self._item:
                self._item_used += time.monotonic() - start
        if seq != self._seq:
            raise _Lost("protocol", f"a reply to request {seq!r} while waiting for {self._seq}")
        if self._tape is not None:
            self._tape.calls.append((body, reply_digest(reply)))
        return reply

    # -- calls asked again: a batch's recorded calls (bpverify.grading.replay) --

    @contextlib.contextmanager
    def taping(self) -> Iterator[Tape]:
        """Record the calls made inside (:class:`~bpverify.submission.Tape`)."""
        tape = Tape()
        outer, starts = self._tape, self.starts
        self._tape = tape
        try:
            yield tape
        finally:
            tape.spoilt = tape.spoilt or self.starts != starts
            self._tape = outer

    def rerun(self, calls: Sequence[tuple[bytes, bytes]]) -> bool:
        """Ask ``calls`` (a tape another submission's grade recorded) again, one at a time as
        the grade would, while each reply is the same bytes as recorded (its digest is the
        recorded one: :func:`~bpverify.submission.protocol.reply_digest`).  True when all were;
        their outcome is then the recorded one, and nothing needs judging.

        False when one differs (or did not come back): the calls asked so far are kept, and
        the next calls the grader makes are answered from them, in order (then the differing
        reply, or the failure), as long as each asks for the same bytes, so that the
        submission sees each call once, exactly as a grade of it alone makes them.  Call
        :meth:`settle` once the grader has made them.  False at once, asking nothing, when the
        worker is not running or the item has already failed.
        """
        if self._proc is None or self._item_error is not None or self._preload:
            return False
        asked: list[tuple[bytes, bytes | _Lost]] = []
        for body, recorded in calls:
            self.calls += 1
            try:
                reply: bytes | _Lost = self._exchange(body)
            except _Lost as lost:
                reply = lost
            asked.append((body, reply))
            if isinstance(reply, _Lost) or reply_digest(reply) != recorded:
                self._preload.extend(asked)
                return False
        return True

    def settle(self) -> int:
        """The end of what :meth:`rerun` kept: how many of those calls the grader did not make
        again (0, unless its judge did not repeat itself; then a call that failed stops the
        worker, as the failure would have)."""
        left = len(self._preload)
        failed = any(isinstance(reply, _Lost) for _, reply in self._preload)
        self._preload.clear()
        if left and failed:
            self._stop()
        return left

    def _served(self, body: bytes) -> bytes | None:
        """The kept reply to ``body`` if :meth:`rerun` asked it already (raising the failure
        it met, as the call would have), else None: ask the worker."""
        if not self._preload:
            return None
        asked, reply = self._preload.popleft()
        if asked != body:  # the grader asks for something else: never expected
            self._preload.clear()
            return None
        if isinstance(reply, _Lost):
            raise reply
        return reply

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._req, view):]
                continue
            except BlockingIOError:
                pass
            except (BrokenPipeError, OSError):
                raise _Lost("died") from None
            if not _wait(self._req, select.POLLOUT, deadline):
                raise _Lost("timeout")

    def _receive(self, deadline: float) -> tuple[Any, ...]:
        """The next reply, decoded: ``(seq, kind, value)``."""
        seq, body = self._receive_raw(deadline)
        try:
            reply = decode(body)
        except ProtocolError as exc:
            raise _Lost("protocol", str(exc)) from None
        if not (isinstance(reply, tuple) and len(reply) == 2):
            raise _Lost("protocol", f"a reply that is not (kind, value): {str(reply)[:80]}")
        return (seq, *reply)

    def _receive_raw(self, deadline: float) -> tuple[int, bytes]:
        """The next reply's sequence number and body (not decoded)."""
        (n,) = _LEN.unpack(self._read(4, deadline))
        if n > MAX_FRAME + SEQ.size:
            raise _Lost("protocol", f"a reply of {n / 2**20:.0f} MB (the limit is "
                        f"{MAX_FRAME // 2**20} MB): the submission returned too much data")
        if n < SEQ.size:
            raise _Lost("protocol", f"a frame of {n} bytes")
        frame = self._read(n, deadline)
        return SEQ.unpack_from(frame)[0], frame[SEQ.size:]

    def _read(self, n: int, deadline: float) -> bytes:
        """The next ``n`` bytes from the worker.  Whatever more one read brings (a reply's
        body with its length) is kept for the next call: one system call per reply."""
        inbox = self._inbox
        while len(inbox) < n:
            # In slices: a process the submission forked may hold the pipe open after the
            # worker has died, so end of file alone does not tell us.
            if not _wait(self._resp, select.POLLIN, min(deadline, time.monotonic() + 0.2)):
                if self._proc is not None and _has_ended(self._proc):
                    raise _Lost("died") from None
                if time.monotonic() >= deadline:
                    raise _Lost("timeout") from None
                continue
            try:
                chunk = os.read(self._resp, max(n - len(inbox), 1 << 16))
            except BlockingIOError:
                continue
            if not chunk:
                raise _Lost("died")
            inbox += chunk
        data = bytes(inbox[:n])
        del inbox[:n]
        return data

    def _failure(self, lost: _Lost, where: str) -> StudentError:
        """Stop the worker and describe what happened as the submission's error."""
        crash = self._crash_text()
        if lost.reason == "died":  # give it a moment to finish dying by itself
            end = time.monotonic() + 1.0
            while self._proc is not None and not _has_ended(self._proc) \
                    and time.monotonic() < end:
                time.sleep(0.002)
        status = self._stop()
        restart = "the worker was restarted for the next call"
        if lost.reason == "timeout":
            return StudentError(where, "TimeoutError", f"{lost.detail}; it was killed with "
                                f"SIGKILL and {restart}. Look for an infinite loop or a very "
                                "slow computation.")
        if lost.reason == "memory":
            return StudentError(where, "MemoryError", lost.detail)
        if lost.reason == "protocol":
            return StudentError(where, "ProtocolError", f"the worker sent malformed data: "
                                f"{lost.detail}; {restart}")
        return StudentError(where, *_death(status, self.memory_mb), crash)


def _wait(fd: int, event: int, deadline: float) -> bool:
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(math.ceil(left * 1000)))


def _has_ended(proc: subprocess.Popen[bytes] | Launched) -> bool:
    return proc.ended() if isinstance(proc, Launched) else _ended(proc.pid)


def _zygote_env(env: dict[str, str]) -> dict[str, str]:
    """The zygote's environment: a worker's, without the worker's own folders."""
    return {k: v for k, v in env.items() if k not in ("HOME", "TMPDIR")}


def _ended(pid: int) -> bool:
    """Whether the process has ended.  It is not reaped, so its pid (our process group's id)
    stays reserved until we have sent the group SIGKILL."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


_SIGNALS = {
    signal.SIGSEGV: ("Crash", "the worker crashed with a segmentation fault (SIGSEGV), e.g. "
                     "ctypes or a C extension reading invalid memory"),
    signal.SIGBUS: ("Crash", "the worker crashed with a bus error (SIGBUS)"),
    signal.SIGILL: ("Crash", "the worker crashed with an illegal instruction (SIGILL)"),
    signal.SIGFPE: ("Crash", "the worker crashed with a floating-point exception (SIGFPE)"),
    signal.SIGABRT: ("Crash", "the worker aborted (SIGABRT): a fatal error in C code, which "
                     "includes running out of memory inside C code"),
}


def _death(status: int | None, memory_mb: int) -> tuple[str, str]:
    """exc_type and message for a worker that ended during a call."""
    after = "; the worker was restarted for the next call"
    if status is None:
        return "ProtocolError", ("the submission closed the worker's connection to the "
                                 "grader" + after)
    if status == INTERRUPTED:
        return "Exit", ("the worker was interrupted outside a call (a signal handler or thread "
                        "of the submission raised)" + after)
    if status >= 0:
        return "Exit", (f"the worker process exited with status {status} while running the "
                        "submission; a submission must not end the process (os._exit?)" + after)
    sig = -status
    if sig == signal.SIGKILL:
        return "MemoryError", ("the worker was killed by SIGKILL, most likely by the system's "
                               f"out-of-memory killer: too much memory (the limit is {memory_mb} "
                               "MB, --memory)" + after)
    if sig in _SIGNALS:
        kind, text = _SIGNALS[signal.Signals(sig)]
        return kind, text + after
    name = signal.Signals(sig).name if sig in signal.valid_signals() else f"signal {sig}"
    return "Crash", f"the worker was killed by {name}" + after


def _checked(scenario: str, value: Any) -> Any:
    """The engine indexes into replies; a reply of the wrong shape must not crash the grader."""
    if scenario == "inventory":
        ok = (isinstance(value, dict) and isinstance(value.get("names"), dict)
              and isinstance(value.get("load_errors"), list)
              and all(isinstance(k, str) and isinstance(v, str)
                      for k, v in value["names"].items())
              and all(isinstance(e, str) for e in value["load_errors"]))
        if not ok:
            raise _Lost("protocol", "an inventory that is not {names, load_errors}")
    return value


def _contract_error(message: str, facts: dict[str, Any]) -> ContractError:
    """A ContractError from the worker, its facts checked: anything malformed is dropped."""

    def count(v: Any) -> int | None:
        return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 else None

    where = facts.get("where")
    return ContractError(message, where=where if isinstance(where, str) else "",
                         returned_none=facts.get("returned_none") is True,
                         only_none=facts.get("only_none") is True,
                         returned_count=count(facts.get("returned_count")),
                         expected_count=count(facts.get("expected_count")))
