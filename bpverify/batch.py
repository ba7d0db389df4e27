"""Grading submissions for a door: in this process or in isolated workers, one or a batch.

The ``grade`` command's engine room: :func:`grade` grades one submission as a
:class:`~bpverify.options.GradeOptions` says, its items ``jobs`` at a time; :func:`grade_all`
grades many with a status line or a progress bar, several submissions at a time in spawned
processes (results cross as JSON), each of those grading its items one at a time, so that
``jobs`` processes grade in all.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

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

from bpverify.grading.engine import check_submission
from bpverify.model import SubmissionResult
from bpverify.options import GradeOptions
from bpverify.submission import Executor
from bpverify.submission.worker import WorkerExecutor

__all__ = ["grade", "grade_all"]


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
            for n, path in enumerate(paths):
                show = functools.partial(_show_task, bar, task, path.name)
                results[n] = grade(path, options, progress=show)
                bar.advance(task)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # Spawned, not forked: the grader holds JAX's threads.  Results come back as JSON.
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
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
           progress: Callable[[str], None] | None = None) -> SubmissionResult:
    """Grade one submission as ``options`` say: in this process or in isolated workers, its
    items ``options.jobs`` at a time."""
    factory: Callable[..., Executor] | None = None
    if not options.in_process:
        factory = functools.partial(WorkerExecutor, timeout=options.worker_timeout,
                                    memory_mb=options.worker_memory_mb, sandbox=options.sandbox)
    return check_submission(path, seed=options.seed, profile=options.profile,
                            max_examples=options.examples, only=options.only,
                            rubric=options.rubric, executor_factory=factory, progress=progress,
                            jobs=options.jobs)


def _grade_one(path: str, options: GradeOptions) -> str:
    """One submission, in a pool process: the result model as JSON text.  Its items are
    graded one at a time: the pool already keeps ``options.jobs`` processes busy."""
    return grade(path, replace(options, jobs=1)).to_json()

