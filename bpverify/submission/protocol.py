"""The boundary's types: what the grader may ask of wherever a submission runs.

An :class:`Executor` runs named *scenarios* against a submission (in this process or in an
isolated worker) and returns plain data.  Nothing here imports the submission.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Executor", "StudentError"]


class StudentError(Exception):
    """The submission's code raised (or exited) while the grader was calling it."""

    def __init__(self, where: str, exc_type: str, message: str, tb: str = "") -> None:
        super().__init__(f"{where} raised {exc_type}: {message}")
        self.where, self.exc_type, self.message, self.tb = where, exc_type, message, tb


class Executor(Protocol):
    """Where scenarios run: in-process here, in an isolated worker for untrusted code."""

    def call(self, scenario: str, **kwargs: Any) -> Any: ...

    def close(self) -> None: ...
