"""How a grade runs: one frozen, validated :class:`GradeOptions` for every door.

The CLI, the pytest plugin, the Gradescope bundle and the worker executor all take their options
through this module, so a bad value gets the same message wherever it is given: which option,
what was expected, what was got.  Each door spells its options its own way (``--memory``,
``--bpverify-examples``, ``memory_mb``); :meth:`OptionError.spelled` renders the message with
that door's names.

Rule: this module imports only the standard library and :mod:`bpverify.contract` (it is loaded
inside the isolated worker too).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from bpverify.registry import all_items

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_SEED",
    "DEFAULT_TIMEOUT",
    "FLAGS",
    "MIN_MEMORY_MB",
    "PROFILES",
    "PROFILE_ENV",
    "SANDBOX_MODES",
    "GradeOptions",
    "OptionError",
    "Profile",
    "Sandbox",
    "check_memory_mb",
    "check_sandbox",
    "check_timeout",
    "resolve_profile",
]

DEFAULT_SEED = 0
#: The environment variable naming the default profile.
PROFILE_ENV = "BPVERIFY_PROFILE"
#: Wall-clock limit of one call into the submission, in seconds.  The reference answers a call
#: in well under a millisecond, so a few seconds only ever stops a hung or runaway submission.
DEFAULT_TIMEOUT = 5.0
#: Address-space limit of the worker (RLIMIT_AS), in MB: inside Gradescope's 768 MB-2 GB range.
#: Python and numpy (one BLAS thread) map about 135 MB, which leaves about 880 MB for the
#: submission's arrays; RLIMIT_AS counts mapped address space, not resident memory.
DEFAULT_MEMORY_MB = 1024
#: Below this numpy cannot even be imported reliably.
MIN_MEMORY_MB = 256

#: How the worker is confined: "auto" uses the sandbox where the system offers one, "require"
#: refuses to grade without it, "off" runs the worker with resource limits only.
Sandbox = Literal["auto", "require", "off"]
SANDBOX_MODES: tuple[str, ...] = get_args(Sandbox)


@dataclass(frozen=True)
class Profile:
    """A named number of examples per check."""

    name: str
    max_examples: int
    doc: str


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("dev", 30, "a quick look while you work (the default)"),
        Profile("ci", 15, "fast enough for every push"),
        Profile("thorough", 300, "before you publish grades"),
    )
}


#: ``bpverify grade``'s flag for each field of :class:`GradeOptions` (the CLI's messages and the
#: command lines the Gradescope bundle writes).
FLAGS: dict[str, str] = {
    "seed": "--seed", "profile": "--profile", "examples": "--examples", "rubric": "--rubric",
    "only": "--only", "timeout": "--timeout", "memory_mb": "--memory", "jobs": "--jobs",
    "in_process": "--in-process", "sandbox": "--sandbox",
}


class OptionError(ValueError):
    """A bad option value.  ``template`` names options as ``{field}``; see :meth:`spelled`."""

    def __init__(self, option: str, template: str) -> None:
        self.option, self.template = option, template
        super().__init__(self.spelled({}))

    def spelled(self, names: Mapping[str, str]) -> str:
        """The message with each option called by ``names`` (field -> e.g. ``"--memory"``);
        fields not in ``names`` keep their Python name."""
        return self.template.format_map(_Names(names))


class _Names(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key


def _must(option: str, expected: str, got: object, note: str = "") -> OptionError:
    return OptionError(option, f"{{{option}}} must be {expected}, got {got!r}{note}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_timeout(value: object, option: str = "timeout") -> float:
    """A per-call time limit: a positive, finite number of seconds."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0):
        raise _must(option, "a positive number of seconds", value)
    return float(value)


def check_memory_mb(value: object, option: str = "memory_mb") -> int:
    """The worker's address-space limit: an int of at least :data:`MIN_MEMORY_MB`."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= MIN_MEMORY_MB):
        raise _must(option, f"at least {MIN_MEMORY_MB} MB", value,
                    " (Python and numpy alone map about 135 MB)")
    return value


def check_sandbox(value: object, option: str = "sandbox") -> Sandbox:
    """One of :data:`SANDBOX_MODES`."""
    if value not in SANDBOX_MODES:
        raise _must(option, f"one of {', '.join(SANDBOX_MODES)}", value)
    return value  # type: ignore[return-value]


def resolve_profile(name: str | None = None) -> Profile:
    """The named profile, else ``$BPVERIFY_PROFILE``, else "dev"."""
    chosen = name or os.environ.get(PROFILE_ENV) or "dev"
    if chosen not in PROFILES:
        raise OptionError(
            "profile",
            (f"unknown {{profile}} {chosen!r}" if name else
             f"unknown profile {chosen!r} (from ${PROFILE_ENV})")
            + f"; expected one of {', '.join(PROFILES)}",
        )
    return PROFILES[chosen]


@dataclass(frozen=True)
class GradeOptions:
    """Every option of a grade, validated when built (:class:`OptionError` on a bad value).

    ``None`` means "the default": ``profile`` from ``$BPVERIFY_PROFILE`` or dev, ``timeout``
    and ``memory_mb`` the worker's defaults (:data:`DEFAULT_TIMEOUT`, :data:`DEFAULT_MEMORY_MB`).
    ``examples`` overrides the profile.  ``rubric`` is a built-in rubric's name or a TOML file
    (``None``: chosen by what the submission defines).  ``only`` narrows the rubric's items.
    ``jobs`` is how many processes grade at a time: a batch's submissions, or one
    submission's items (the same result as one at a time).  ``in_process``
    runs the submission in the grader's own process (trusted code only): then ``timeout``,
    ``memory_mb`` and ``sandbox`` have nothing to limit and must be left at their defaults.
    """

    seed: int = DEFAULT_SEED
    profile: str | None = None
    examples: int | None = None
    rubric: str | Path | None = None
    only: tuple[str, ...] | None = None
    timeout: float | None = None
    memory_mb: int | None = None
    jobs: int = 1
    in_process: bool = False
    sandbox: Sandbox = "auto"

    def __post_init__(self) -> None:
        if not _is_int(self.seed):
            raise _must("seed", "an integer", self.seed)
        if self.profile is not None:
            resolve_profile(self.profile)
        if self.examples is not None and not (_is_int(self.examples) and self.examples >= 1):
            raise _must("examples", "at least 1", self.examples)
        if not (self.rubric is None or isinstance(self.rubric, Path)
                or (isinstance(self.rubric, str) and self.rubric)):
            raise _must("rubric", "a built-in rubric's name or a TOML file", self.rubric)
        if self.only is not None:
            object.__setattr__(self, "only", _items(self.only))
        if self.timeout is not None:
            object.__setattr__(self, "timeout", check_timeout(self.timeout))
        if self.memory_mb is not None:
            check_memory_mb(self.memory_mb)
        if not (_is_int(self.jobs) and self.jobs >= 1):
            raise _must("jobs", "at least 1", self.jobs)
        check_sandbox(self.sandbox)
        if self.in_process:
            limits = [f"{{{name}}}" for name in ("timeout", "memory_mb")
                      if getattr(self, name) is not None]
            if self.sandbox != "auto":
                limits.append("{sandbox}")
            if limits:
                raise OptionError(
                    "in_process",
                    f"{' and '.join(limits)} {'limit' if len(limits) > 1 else 'limits'} the "
                    "isolated worker; "
                    f"{'they have' if len(limits) > 1 else 'it has'} no effect with {{in_process}}",
                )

    @property
    def max_examples(self) -> int:
        """Examples per check: ``examples``, else the profile's (``$BPVERIFY_PROFILE`` included)."""
        return self.examples or resolve_profile(self.profile).max_examples

    @property
    def worker_timeout(self) -> float:
        return DEFAULT_TIMEOUT if self.timeout is None else self.timeout

    @property
    def worker_memory_mb(self) -> int:
        return DEFAULT_MEMORY_MB if self.memory_mb is None else self.memory_mb


def _items(only: Iterable[str]) -> tuple[str, ...]:
    if isinstance(only, str):
        raise _must("only", "a list of item names", only)
    names = tuple(only)
    known = [i.name for i in all_items()]
    unknown = sorted(n for n in names if n not in known)
    if unknown:
        raise OptionError("only", f"unknown item(s) {unknown}; expected names from "
                          f"{', '.join(known)}")
    return names
