"""A loaded submission's namespace, and how its failures are put into words."""

from __future__ import annotations

import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpverify.contract import ContractError
from bpverify.submission.protocol import StudentError

__all__ = [
    "LoadedSubmission",
    "call_student",
    "describe_exception",
    "short_text",
    "student_error",
    "student_frames",
    "undefined_name",
]

_MAX_TEXT = 2000
#: Frames from files under this folder are the grader's own, not the student's.
_GRADER = str(Path(__file__).resolve().parent.parent) + "/"


@dataclass
class LoadedSubmission:
    """A submission's namespace: contract name -> object, plus what went wrong loading it."""

    path: Path
    names: dict[str, Any] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    modules: list[types.ModuleType] = field(default_factory=list)
    #: What loading noticed that the user should read (stand-ins, the convention detected, ...).
    notes: list[str] = field(default_factory=list)
    #: Contract name -> why it could not be loaded (its module did not import), per name.
    unavailable: dict[str, str] = field(default_factory=dict)
    #: Contract name -> why it is not part of this submission at all (a CS231n folder of
    #: assignment 2 has no rnn_layers.py): such an item is out of the total, not missing.
    elsewhere: dict[str, str] = field(default_factory=dict)
    #: The rubric's [options] (families read theirs, e.g. dropout's ``dropout_p``).
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        obj = self.names.get(name)
        if obj is None:
            raise ContractError(f"{name} is not implemented in {self.path.name}")
        return obj


def short_text(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 20] + " … [truncated]"


def describe_exception(exc: BaseException, path: Path | None = None) -> str:
    if isinstance(exc, SyntaxError):
        where = Path(exc.filename).name if exc.filename else "?"
        return f"SyntaxError in {where}, line {exc.lineno}: {exc.msg}"
    return short_text(f"{type(exc).__name__}: {exc}")


def student_frames(tb: types.TracebackType | None) -> str:
    """The traceback without the grader's own frames."""
    frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(_GRADER)]
    return short_text("".join(traceback.format_list(frames[-5:])))


def undefined_name(exc: BaseException) -> str:
    """The name a NameError found undefined (Python's own ``name`` attribute), else ""."""
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    return name if isinstance(name, str) else ""


def student_error(where: str, exc: BaseException, *, hint: str = "", got_name: str = "",
                  expected_name: str = "") -> StudentError:
    """``exc``, raised by the submission's code at ``where``, as the boundary's StudentError.

    ``hint`` is appended to the exception's text; the names default to a NameError's name.
    """
    return StudentError(where, type(exc).__name__, short_text(str(exc)) + hint,
                        student_frames(exc.__traceback__),
                        got_name=got_name or undefined_name(exc), expected_name=expected_name)


def call_student(where: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, the submission's code: whatever it raises is a StudentError."""
    try:
        return fn(*args, **kwargs)
    except (Exception, SystemExit, KeyboardInterrupt, GeneratorExit) as exc:
        raise student_error(where, exc) from None
