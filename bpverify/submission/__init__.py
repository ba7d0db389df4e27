"""The isolation boundary: the only code that imports or calls a submission.

Rule: never imports jax, hypothesis, rich or jinja2 (it runs inside the worker), and never
judges anything: scenarios return plain data, the grader compares.
"""

from __future__ import annotations

from bpverify.submission.loading import LAYOUTS, LoadSpec, load_submission
from bpverify.submission.namespace import LoadedSubmission
from bpverify.submission.protocol import Executor, Rerunnable, StudentError, Tape
from bpverify.submission.scenarios import SCENARIOS, InProcessExecutor, plain, run_scenario

__all__ = [
    "LAYOUTS",
    "SCENARIOS",
    "Executor",
    "InProcessExecutor",
    "LoadSpec",
    "LoadedSubmission",
    "Rerunnable",
    "StudentError",
    "Tape",
    "load_submission",
    "plain",
    "run_scenario",
]
