"""One submission's items graded at once by this process and spawned helper processes.

Grading is pure-Python Hypothesis work, bound by the GIL, so only processes use a second core.
Every check's Hypothesis seed comes from the run's seed and the item's and check's names, so
which process grades an item changes nothing in its result.

The items wait in one queue, kept in this process: the parent grades from it in its own thread
while a dispatcher thread hands the next item to each helper that asks (item costs vary a lot
and differ per submission, so nothing is assigned in advance).  The queue is not a
``multiprocessing.Queue`` because a helper that dies inside its ``get`` would leave the queue's
lock held; here the parent always knows which item each helper holds.  Helpers are spawned,
not forked (the parent holds JAX's threads); a helper pays ~1.2 s of imports, which the queue
absorbs because the parent starts grading at once.  Results cross as JSON.

A grade never depends on the helpers: an item a helper took but did not return (it failed to
start, died, raised or sent something unreadable) is graded by the parent itself, and when
processes cannot be started at all the parent grades everything.  Helpers are stopped when
the grade ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from bpverify.model import ItemResult

__all__ = ["GradeOne", "OpenHelper", "grade_items"]

#: Grades one item by name.
GradeOne = Callable[[str], ItemResult]
#: Run in a helper process: sets up its own executor and yields its :data:`GradeOne`, or None
#: to decline helping (the helper then takes nothing).  Must pickle (a partial of a module-level
#: function), since it crosses to a spawned process.
OpenHelper = Callable[[], AbstractContextManager[GradeOne | None]]

#: How often (seconds) waiting threads look again whether a helper or the dispatcher is alive.
_POLL = 0.2
#: How long a stopped helper gets to close its worker before it is killed.
_STOP_GRACE = 5.0


def grade_items(names: Sequence[str], grade_here: GradeOne, open_helper: OpenHelper, *,
                jobs: int, progress: Callable[[str], None] | None = None) -> list[ItemResult]:
    """Grade ``names`` with ``grade_here`` in this process and ``open_helper`` in ``jobs - 1``
    helpers; the results in the order of ``names``.

    ``progress(name)`` names an item being graded whenever one starts or finishes (calls come
    from this process, one at a time, possibly from the dispatcher thread).
    """
    share = _Share(names, progress)
    helpers = _start_helpers(min(jobs, len(names)) - 1, open_helper)
    dispatcher = threading.Thread(target=_dispatch, args=(share, helpers), daemon=True,
                                  name="bpverify-dispatch")
    try:
        if helpers:
            dispatcher.start()
        while (name := share.next_here(dispatcher)) is not None:
            share.started(name)
            share.finished(name, grade_here(name))
    finally:
        share.stopping = True
        _stop(helpers, dispatcher)
    for name in names:  # nothing is ever missing; if something were, it would be graded here
        if name not in share.results:
            share.results[name] = grade_here(name)
    return [share.results[name] for name in names]


class _Share:
    """The queue of items and who holds what, for the parent and the dispatcher thread."""

    def __init__(self, names: Sequence[str], progress: Callable[[str], None] | None) -> None:
        self.cond = threading.Condition()
        self.todo = deque(names)
        self.orphans: list[str] = []  #: taken by a helper that is gone: the parent grades them
        self.held: dict[int, str] = {}  #: helper number -> the item it grades
        self.running: list[str] = []
        self.results: dict[str, ItemResult] = {}
        self.stopping = False
        self.progress = progress

    def next_here(self, dispatcher: threading.Thread) -> str | None:
        """The parent's next item: one a lost helper held, else the next in the queue.  Once
        the queue is empty it waits while helpers grade their last items; None when none do.
        """
        with self.cond:
            while True:
                if self.orphans:
                    return self.orphans.pop(0)
                if self.todo:
                    return self.todo.popleft()
                if self.held and not dispatcher.is_alive():  # no one will hear their results
                    self.orphans += self.held.values()
                    self.held.clear()
                    continue
                if not self.held:
                    return None
                self.cond.wait(_POLL)

    def take(self, helper: int) -> str | None:
        """The next item for ``helper`` (None: nothing left, it may stop)."""
        with self.cond:
            if self.stopping or not self.todo:
                return None
            name = self.held[helper] = self.todo.popleft()
            self.started(name)
            return name

    def returned(self, helper: int, name: str, result: ItemResult) -> None:
        with self.cond:
            if self.held.get(helper) == name:
                del self.held[helper]
                self.finished(name, result)

    def lost(self, helper: int) -> None:
        """``helper`` is gone: what it held goes to the parent."""
        with self.cond:
            name = self.held.pop(helper, None)
            if name is not None:
                self.orphans.append(name)
                if name in self.running:
                    self.running.remove(name)
            self.cond.notify_all()

    def started(self, name: str) -> None:
        with self.cond:
            self.running.append(name)
            self._show()

    def finished(self, name: str, result: ItemResult) -> None:
        with self.cond:
            self.results.setdefault(name, result)
            if name in self.running:
                self.running.remove(name)
            self._show()
            self.cond.notify_all()

    def _show(self) -> None:
        if self.progress and self.running:
            self.progress(self.running[-1])


@dataclass
class _Helper:
    process: BaseProcess
    conn: Connection
    told_to_stop: bool = False


def _start_helpers(count: int, open_helper: OpenHelper) -> list[_Helper]:
    """Up to ``count`` spawned helpers; fewer (none) if processes cannot be started here."""
    helpers: list[_Helper] = []
    if count < 1:
        return helpers
    try:
        ctx = multiprocessing.get_context("spawn")
        sigint = "ignore" if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else "default"
        for _ in range(count):
            ours, theirs = ctx.Pipe()
            try:
                process = ctx.Process(target=_helper_main, args=(theirs, open_helper, sigint),
                                      name="bpverify-helper", daemon=True)
                with _sigint_ignored():
                    process.start()
            except BaseException:
                ours.close()
                raise
            finally:
                theirs.close()
            helpers.append(_Helper(process, ours))
    except Exception:  # no processes here, or what the helper needs does not pickle
        pass
    return helpers


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ctrl-C belongs to the parent, which then stops its helpers: a spawned helper inherits
    an ignored SIGINT, so it prints no KeyboardInterrupt of its own while it imports.  (Only
    the main thread may touch signals; elsewhere this does nothing.)"""
    before = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or before is None:
        yield  # (None: a handler from outside Python, which could not be put back)
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def _dispatch(share: _Share, helpers: list[_Helper]) -> None:
    """The dispatcher thread: hand out items, take results back, notice helpers that die."""
    live = dict(enumerate(helpers))
    try:
        while live and not share.stopping:
            ready = wait([h.conn for h in live.values()]
                         + [h.process.sentinel for h in live.values()], _POLL)
            for n, helper in list(live.items()):
                if (helper.conn in ready or helper.process.sentinel in ready) and \
                        not _serve(share, n, helper):
                    share.lost(n)
                    del live[n]
    finally:  # a dispatcher that fails leaves nothing held: the parent grades it
        for n in live:
            share.lost(n)


def _serve(share: _Share, n: int, helper: _Helper) -> bool:
    """Read what helper ``n`` sent and answer it; False once it is gone or done."""
    try:
        while helper.conn.poll():
            message = helper.conn.recv()
            if message[0] == "done":
                _, name, text = message
                share.returned(n, name, ItemResult.from_dict(json.loads(text)))
            name = share.take(n)
            helper.conn.send(name)
            if name is None:
                helper.told_to_stop = True
                return False
    except Exception:  # died mid-message, or sent something unreadable: it is gone
        helper.process.kill()
        return False
    return helper.process.is_alive()


def _stop(helpers: list[_Helper], dispatcher: threading.Thread) -> None:
    # A helper told to stop is on its way out; the others (still booting, or the grade was
    # interrupted) get SIGTERM, on which a helper still closes its worker (and its folder).
    for helper in helpers:
        if helper.process.is_alive() and not helper.told_to_stop:
            helper.process.terminate()
    for helper in helpers:
        helper.process.join(_STOP_GRACE)
        if helper.process.is_alive():
            helper.process.kill()
            helper.process.join()
    if dispatcher.is_alive():  # its helpers are gone, so it ends within a poll
        dispatcher.join(_STOP_GRACE)
    if not dispatcher.is_alive():  # (never close a pipe under a thread that waits on it)
        for helper in helpers:
            helper.conn.close()


class _Stopped(BaseException):
    """SIGTERM in a helper.  Not SystemExit: Hypothesis takes that for a failing example."""


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the way out close the worker
    raise _Stopped


def _helper_main(conn: Connection, open_helper: OpenHelper,
                 sigint: str) -> None:  # pragma: no cover - runs in the helper
    """A helper process: ask for an item, grade it, send it back as JSON, until told to stop.

    SIGINT is set back to what the parent has (``sigint``).  (A worker sets its own at boot,
    whoever starts it: a submission that signals itself meets the same worker everywhere.)
    """
    if sigint == "default":
        signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)  # stopped: still close the worker on the way out
    try:
        with open_helper() as grade:
            if grade is None:
                return
            conn.send(("ready",))
            while (name := conn.recv()) is not None:
                text = json.dumps(grade(name).to_dict(), allow_nan=True)
                conn.send(("done", name, text))
    except (EOFError, BrokenPipeError, _Stopped, KeyboardInterrupt):
        pass  # the parent is gone, or stopped us, or Ctrl-C (which the parent handles)
    # Done, and the worker is closed: skip the interpreter's teardown (JAX's alone takes
    # ~0.3 s, which the parent would wait for).  Anything unexpected was raised above instead
    # (multiprocessing prints it, and the parent grades what this helper held).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
