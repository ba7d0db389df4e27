"""The worker's side of the isolated worker: the child process that loads the submission and
runs scenarios for the grader (:mod:`bpverify.submission.worker` is the grader's side).

The child is started as ``python -I -B -c BOOT``: :data:`BOOT` installs a stub ``bpverify``
package (so that ``bpverify/__init__.py`` and what it would import are never loaded) and calls
:func:`serve`, which limits the process, enters the sandbox, loads the submission and answers
requests until the grader closes the pipe.  A frame is its length, the request's sequence
number (:data:`~bpverify.submission.wire.SEQ`) and a body: a request's ``(scenario, kwargs)``,
pickled; a reply's ``("ok", value)``, ``("contract", (message, facts))`` or ``("student",
fields)`` in the wire codec, the fields built by :func:`student_fields` in the order the grader
reads them.  The number stays outside the body, so that the same call gets the same bytes
back whenever it is asked (a batch compares them: ``WorkerExecutor.rerun``).  This module
imports numpy and ``bpverify.submission``/``.contract``/``.options``/``.registry`` only; the grader
imports it for :data:`BOOT`, :func:`where` and the limits both sides share.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from bpverify import registry
from bpverify.contract import ContractError
from bpverify.submission import LoadSpec, StudentError, reaper, run_scenario
from bpverify.submission import sandbox as _sandbox
from bpverify.submission.namespace import undefined_name
from bpverify.submission.wire import LENGTH, MAX_TEXT, SEQ, decode_request, encode

__all__ = ["BOOT", "INTERRUPTED", "MAX_FILE_BYTES", "MAX_FRAME", "OUTPUT_TAIL", "Capture",
           "serve", "student_fields", "where"]

#: Largest frame either side accepts: far above any case bpverify draws.
MAX_FRAME = 64 * 2**20
#: Files the submission writes are capped (RLIMIT_FSIZE) so that it cannot fill the disk.
MAX_FILE_BYTES = 256 * 2**20
#: How much of what the submission printed during a call is kept (the tail).
OUTPUT_TAIL = 1000
INTERRUPTED = 70  #: the worker's exit status when something raised outside a call
_LEN = LENGTH  #: the frame-length prefix (the codec lives in wire.py)


def student_fields(where_: str, exc_type: str, message: str, tb: str = "", got_name: str = "",
                   expected_name: str = "") -> tuple[str, str, str, str, str, str]:
    """The fields of a ``"student"`` reply, in the order the grader reads them (each text cut
    to the wire's limit)."""
    return (_text(where_), _text(exc_type), _text(message), _text(tb), _text(got_name),
            _text(expected_name))


def where(scenario: str, kwargs: dict[str, Any], path: Path) -> str:
    """How messages name the call of ``scenario``: the gate or function it runs, else its name."""
    if scenario == "inventory":
        return f"importing {path.name}"
    calls = kwargs.get("calls")
    if scenario == "many" and isinstance(calls, list) and calls:  # named by its first call
        return where(calls[0][0], calls[0][1], path)
    name = kwargs.get("name") or kwargs.get("forward")
    return name if isinstance(name, str) else scenario


BOOT = """\
import sys, types
pkg = types.ModuleType("bpverify")
pkg.__path__ = [sys.argv[1]]
sys.modules["bpverify"] = pkg
try:
    from bpverify.submission.child import serve
except BaseException:
    import traceback
    with open(sys.argv[-1], "w") as f:
        traceback.print_exc(file=f)
    raise SystemExit(3)
serve(sys.argv[2:])
"""


class Capture(io.TextIOBase):
    """sys.stdout and sys.stderr in the worker: keeps the tail of what was printed."""

    def __init__(self) -> None:
        self.tail, self.total = "", 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self.total += len(s)
        self.tail = (self.tail + s[-OUTPUT_TAIL:])[-OUTPUT_TAIL:]
        return len(s)

    def take(self) -> str:
        text, total = self.tail, self.total
        self.tail, self.total = "", 0
        if not text:
            return ""
        shown = f"the last {len(text)} of {total} characters" if total > len(text) else "all"
        return f"\nprinted during the call ({shown}):\n{text}"


def serve(argv: list[str]) -> None:  # pragma: no cover - runs in the worker
    import faulthandler
    import resource

    req, resp, path, memory_mb, grader_pid, plan_text, crash_path = argv
    if sys.platform == "linux":  # if the grader dies, so does a worker stuck in a loop
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != int(grader_pid):  # it died before the line above
            os._exit(0)
    sys.argv = [""]  # nothing that points at the grader's tree
    plan = _sandbox.Plan.from_argv(plan_text)
    for limit, value in ((resource.RLIMIT_AS, int(memory_mb) * 2**20),
                         (resource.RLIMIT_FSIZE, MAX_FILE_BYTES), (resource.RLIMIT_CORE, 0)):
        hard = resource.getrlimit(limit)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails, not the worker
    # SIGINT raises KeyboardInterrupt in every worker, however it was started: a process
    # started while its parent ignored SIGINT (a grade's parent, for the moment it spawns a
    # helper) would inherit the ignoring, and a submission that interrupts itself would get
    # another verdict depending on when its worker started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    crash = open(crash_path, "w")  # noqa: SIM115 - open for the life of the process
    faulthandler.enable(file=crash)
    req_fd, resp_fd = int(req), int(resp)
    try:  # from here on this process is PID 1 of its own namespaces (where available)
        namespaces = _sandbox.enter_namespaces(plan, (req_fd, resp_fd))
        reaper.become_subreaper()  # orphans of the submission come back here: kill_tree finds them
    except BaseException:
        traceback.print_exc(file=crash)
        crash.flush()
        os._exit(3)
    me = os.getpid()  # only this process speaks for the worker (see _only_the_worker)
    capture = Capture()
    try:
        _put(resp_fd, 0, ("booted", None))
        request = _get(req_fd, _LEN.unpack(_get(req_fd, 4))[0])
        _, (layout, options, lookup) = decode_request(request[SEQ.size:])
        registry.load_worker_side()  # the sandbox hides bpverify's files from here on
        _seed_randomness()
        try:
            applied = _sandbox.confine(plan, path, os.getcwd())
        except BaseException:
            traceback.print_exc(file=crash)
            crash.flush()
            os._exit(3)
        sys.stdout = sys.stderr = capture
        _sandbox.set_where(Path(path).name)
        sub = LoadSpec(layout, options, lookup).load(path)
        _only_the_worker(me, namespaces)
        _put(resp_fd, 0, ("ready", _sandbox.describe_applied(plan, namespaces, applied)))
        while True:
            head = _get(req_fd, 4)
            if not head:
                os._exit(0)  # the grader is done; skip atexit handlers the submission set up
            frame = _get(req_fd, _LEN.unpack(head)[0])
            (seq,) = SEQ.unpack_from(frame)
            scenario, kwargs = decode_request(frame[SEQ.size:])
            sys.stdout = sys.stderr = capture  # the submission may have replaced them
            capture.take()
            _sandbox.set_where(where(scenario, kwargs, Path(path)))
            reaper.reap()  # children the grader killed since (WorkerExecutor.begin_item)
            reply = _run(sub, scenario, kwargs, capture)
            _only_the_worker(me, namespaces)
            try:
                body = encode(reply)
            except Exception as exc:  # e.g. MemoryError copying a huge array
                body = encode(("student", student_fields(
                    where(scenario, kwargs, Path(path)), type(exc).__name__, str(exc))))
            if len(body) > MAX_FRAME:
                body = encode(("student", student_fields(
                    where(scenario, kwargs, Path(path)), "ValueError",
                    f"returned {len(body) / 2**20:.0f} MB of data; the limit is "
                    f"{MAX_FRAME // 2**20} MB")))
            _put(resp_fd, seq, body)
    except BaseException:  # e.g. a KeyboardInterrupt the submission scheduled
        os._exit(INTERRUPTED)


def _seed_randomness() -> None:  # pragma: no cover - runs in the worker
    """Every worker starts with the same random state, however it was started (afresh or
    forked by a batch's zygote): a submission that draws from numpy's or Python's global
    generator without a seed (a dropout mask) sees the same numbers in every grade."""
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)


def _only_the_worker(me: int, namespaces: str) -> None:  # pragma: no cover - in the worker
    """After the submission ran: no other process may answer the grader.

    A process the submission forked is a copy of the worker, pipes and request loop included:
    if it returns or raises out of the submission's code (a daemon whose write is denied), it
    would send a reply and read the next request, and the grader would later get a stale reply
    for another item.  Such a copy ends here.  In its PID namespace the worker is PID 1, so it
    also ends every other process there (kill(-1) reaches only the namespace) and reaps them:
    nothing the call started outlives it, so no daemon holds the pipes to write into later.
    """
    if os.getpid() != me:
        os._exit(0)
    if not namespaces or me != 1:
        return
    while True:  # each round ends what a thread of the submission may have forked meanwhile
        with contextlib.suppress(OSError):
            os.kill(-1, signal.SIGKILL)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _run(sub: Any, scenario: str, kwargs: dict[str, Any],
         capture: Capture) -> tuple[Any, ...]:  # pragma: no cover - runs in the worker
    try:
        return ("ok", run_scenario(sub, scenario, **kwargs))
    except StudentError as exc:
        return ("student", student_fields(exc.where, exc.exc_type, exc.message,
                                               exc.tb + capture.take(), exc.got_name,
                                               exc.expected_name))
    except ContractError as exc:  # the facts cross too: a diagnosis reads them, not the text
        facts = {"where": _text(exc.where), "returned_none": bool(exc.returned_none),
                 "only_none": bool(exc.only_none),
                 "returned_count": exc.returned_count, "expected_count": exc.expected_count}
        return ("contract", (_text(_safe_str(exc)), facts))
    except BaseException as exc:  # raised by the submission's objects
        tb = "".join(traceback.format_tb(exc.__traceback__)[-5:]) + capture.take()
        where_ = where(scenario, kwargs, Path(sub.path))
        return ("student", student_fields(where_, type(exc).__name__, _safe_str(exc), tb,
                                               undefined_name(exc)))


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except BaseException:
        return f"<{type(exc).__name__} whose str() failed>"


def _text(s: Any) -> str:
    s = s if isinstance(s, str) else repr(s)
    return s if len(s) <= MAX_TEXT else s[: MAX_TEXT - 15] + " … [truncated]"


def _put(fd: int, seq: int, value: Any) -> None:  # pragma: no cover - runs in the worker
    body = value if isinstance(value, bytes) else encode(value)
    view = memoryview(_LEN.pack(SEQ.size + len(body)) + SEQ.pack(seq) + body)
    while view:
        view = view[os.write(fd, view):]


def _get(fd: int, n: int) -> bytes:  # pragma: no cover - runs in the worker
    """The next ``n`` bytes of requests (b"" at end of file); what one read brings beyond
    them (a request's body with its length) is kept for the next call."""
    inbox = _INBOX
    while len(inbox) < n:
        chunk = os.read(fd, max(n - len(inbox), 1 << 16))
        if not chunk:
            return b""
        inbox += chunk
    data = bytes(inbox[:n])
    del inbox[:n]
    return data


_INBOX = bytearray()
