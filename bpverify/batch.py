"""Grading submissions for a door: in this process or in isolated workers, one or a batch.

The ``grade`` command's engine room: :func:`grade` grades one submission as a
:class:`~bpverify.options.GradeOptions` says, its items ``jobs`` at a time; :func:`grade_all`
grades many with a status line or a progress bar, several submissions at a time in spawned
processes (results cross as JSON), each of those grading its items one at a time, so that
``jobs`` processes grade in all.

A batch does once what every submission would repeat: each grading process is set up once
(JAX, the rubric's checks, the compiled oracles), draws each check's examples once and replays
them to every submission it grades (:mod:`bpverify.grading.replay`: Hypothesis runs again only
where a submission's outcome differs, so every result is the one a grade alone gives), and keeps
the oracle's expected values for those examples (:mod:`bpverify.grading.memo`).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.status import Status

from bpverify.grading import memo
from bpverify.grading.engine import check_submission
from bpverify.grading.replay import Replays
from bpverify.model import SubmissionResult
from bpverify.options import GradeOptions
from bpverify.submission import Executor
from bpverify.submission.worker import WorkerExecutor
from bpverify.submission.zygote import use_zygote

__all__ = ["MAX_DEFAULT_JOBS", "default_jobs", "grade", "grade_all"]

#: The most processes a grade starts when ``--jobs`` is not given: past four a single submission
#: gains little (its longest items bound it, and each helper first spends ~1.2 s importing).
#: Memory grows with the rubric: a batch's grading process holds JAX, Hypothesis, the compiled
#: oracles and the examples and oracle values it keeps, its zygote and worker some 100 MB more;
#: a class of 40 under the whole default rubric peaked at 1468 MB with two (841 MB under
#: 0242ba7's 19 items; benchmarks/README.md), so four need about twice that.
MAX_DEFAULT_JOBS = 4

#: In a batch's grading process: the examples drawn so far, replayed to its next submissions.
_REPLAYS: list[Replays] = []


def default_jobs() -> int:
    """``--jobs`` when it is not given: every core, at most :data:`MAX_DEFAULT_JOBS`."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_JOBS))


def grade_all(paths: list[Path], options: GradeOptions,
              console: Console) -> list[SubmissionResult]:
    """Grade ``paths`` in command-line order, showing progress on ``console``: one with a
    status line (its items ``options.jobs`` at a time), several with a progress bar
    (``options.jobs`` submissions at a time in spawned processes).
    """
    if len(paths) == 1:
        with console.status("grading…") as status:
            show = functools.partial(_show_progress, status, paths[0].name)
            return [grade(paths[0], options, progress=show)]
    results: dict[int, SubmissionResult] = {}
    jobs = min(options.jobs, len(paths))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"grading, {jobs} at a time", total=len(paths))
        if jobs == 1:
            replays = Replays()
            memo.remember(True)
            use_zygote(True)
            try:
                for n, path in enumerate(paths):
                    show = functools.partial(_show_task, bar, task, path.name)
                    results[n] = grade(path, options, progress=show, replays=replays)
                    bar.advance(task)
            finally:
                memo.remember(False)
                use_zygote(False)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # Spawned, not forked: the grader holds JAX's threads.  Results come back as JSON.
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=spawn, initializer=_start_batch_process,
                                     initargs=(spawn.Value("i", 0),)) as pool:
                futures = {pool.submit(_grade_one, str(p), options): n
                           for n, p in enumerate(paths)}
                for future in as_completed(futures):
                    n = futures[future]
                    results[n] = SubmissionResult.from_dict(json.loads(future.result()))
                    bar.update(task, advance=1, description=f"graded {paths[n].name}")
        bar.update(task, description=f"graded {len(paths)} submissions")
    return [results[n] for n in range(len(paths))]


def _show_progress(status: Status, label: str, item: str) -> None:
    status.update(f"{label}: {item}…")


def _show_task(bar: Progress, task: TaskID, label: str, item: str) -> None:
    bar.update(task, description=f"{label}: {item}")


def grade(path: str | Path, options: GradeOptions,
          progress: Callable[[str], None] | None = None,
          replays: Replays | None = None) -> SubmissionResult:
    """Grade one submission as ``options`` say: in this process or in isolated workers, its
    items ``options.jobs`` at a time (``replays``: a batch's examples, which save work and
    change nothing in the result)."""
    factory: Callable[..., Executor] | None = None
    if not options.in_process:
        factory = functools.partial(WorkerExecutor, timeout=options.worker_timeout,
                                    memory_mb=options.worker_memory_mb, sandbox=options.sandbox)
    return check_submission(path, seed=options.seed, profile=options.profile,
                            max_examples=options.examples, only=options.only,
                            rubric=options.rubric, executor_factory=factory, progress=progress,
                            jobs=options.jobs, replays=replays)


def _start_batch_process(started: Any = None) -> None:
    """Set up a process that grades a batch's submissions one after another: its record of
    examples, and the oracle's kept values.  ``started`` counts the processes set up so far
    (a shared ``multiprocessing.Value``): the n-th keeps to the n-th usable core."""
    if started is not None:
        with started.get_lock():
            n = started.value
            started.value += 1
        _keep_to_one_core(n)
    _REPLAYS.append(Replays())
    memo.remember(True)
    use_zygote(True)


def _keep_to_one_core(n: int) -> None:
    """Run this process, and the workers it starts, on the ``n``-th core it may use (modulo
    their number).  A grading process and its worker take turns (each call waits for its
    reply): on one core a call's round trip is a switch between them, across two cores each
    reply wakes a sleeping core, several times slower.  Where affinity cannot be set, nothing
    changes."""
    try:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) > 1:
            os.sched_setaffinity(0, {cores[n % len(cores)]})
    except (AttributeError, OSError):  # not Linux, or not allowed
        pass


def _grade_one(path: str, options: GradeOptions) -> str:
    """One submission, in a pool process: the result model as JSON text.  Its items are
    graded one at a time: the pool already keeps ``options.jobs`` processes busy."""
    return grade(path, replace(options, jobs=1), replays=_REPLAYS[-1]).to_json()

