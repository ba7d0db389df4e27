"""The result model: every output (terminal, JSON, Gradescope, JUnit, HTML) is a function of it.

Records are frozen and hold plain data only (str, int, float, bool, tuples, and nested lists of
floats for example values), so a result survives a JSON round trip unchanged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "CheckResult",
    "Diagnosis",
    "ElementMismatch",
    "Facts",
    "GateStep",
    "ItemResult",
    "Status",
    "SubmissionResult",
]

Status = Literal["passed", "failed", "skipped", "not implemented"]

#: How many differing elements a check records; the total is always counted.
MAX_RECORDED_MISMATCHES = 20


@dataclass(frozen=True)
class ElementMismatch:
    """One element of one returned value that disagrees with the oracle."""

    value: str  #: which returned value, e.g. "dx", "dW1", "loss"
    index: tuple[int, ...]
    expected: float
    got: float
    abs_error: float
    rel_error: float

    def describe(self) -> str:
        where = f"{self.value}[{', '.join(map(str, self.index))}]" if self.index else self.value
        # "+ 0.0" turns -0.0 into 0.0: a student should not puzzle over "got -0".
        return (
            f"{where}: expected {self.expected + 0.0:.6g}, got {self.got + 0.0:.6g} "
            f"(abs. error {self.abs_error:.3g}, rel. error {self.rel_error:.3g})"
        )


@dataclass(frozen=True)
class GateStep:
    """One gate of a circuit, as the submission ran it and as the oracle expects it.

    ``expected_grads`` is what a correct gate returns given the *same* inputs and upstream
    gradient as this gate actually saw, so the first step whose grads disagree is the guilty one.
    """

    gate: str  #: the contract name, e.g. "MultiplyGate"
    label: str  #: the lecture's label, e.g. "*", "+", "*-1", "exp", "+1", "1/x"
    inputs: tuple[str, ...]  #: wire names feeding the gate
    output: str  #: wire name of the gate's output
    input_values: tuple[Any, ...]
    output_value: Any
    expected_output: Any
    upstream: Any
    grads: tuple[Any, ...]
    expected_grads: tuple[Any, ...]
    local_grads: tuple[Any, ...]  #: d output / d input at these inputs (oracle)
    forward_ok: bool
    backward_ok: bool


@dataclass(frozen=True)
class Facts:
    """What a failed check established, as data: diagnoses read these, never the message.

    Every field is optional; a check sets those its verdict rests on.
    """

    #: The call judged, or the call that raised, e.g. "affine_backward(dout, cache)".
    where: str = ""
    #: The returned value the failure is about, e.g. "db", "loss", "scores".
    value: str = ""
    #: The shape relation: ``value`` came back with ``got_shape`` instead of ``expected_shape``.
    got_shape: tuple[int, ...] | None = None
    expected_shape: tuple[int, ...] | None = None
    #: The count relation: backward returned ``returned_count`` values for ``expected_count``.
    returned_count: int | None = None
    expected_count: int | None = None
    #: The call returned None where values belong.
    returned_none: bool = False
    #: Keys a returned dict lacks, e.g. a net's grads without "W1".
    missing_keys: tuple[str, ...] = ()
    #: The input (or upstream gradient) the call changed in place.
    changed_input: str = ""
    #: The type of the exception the submission raised, e.g. "ValueError", "TimeoutError".
    exc_type: str = ""
    #: numpy refused to turn a whole array into one bool (Python's max or an if on arrays).
    array_truth_value: bool = False
    #: numpy refused int() or float() of a one-element array (an error since numpy 2).
    array_to_scalar: bool = False
    #: The name relation: the code used ``got_name`` where ``expected_name`` belongs (a method
    #: "foward" for "forward", an attribute self.w for self.W); an undefined name alone ("np").
    got_name: str = ""
    expected_name: str = ""
    #: The operation was built on these items, which fail on their own (a - b as a + (-b)
    #: with a wrong neg); the first is the root, built on none of the others.
    built_on: tuple[str, ...] = ()
    #: Every value the call returned where numbers belong is None, as a starter stub returns
    #: them (``dx, dw, db = None, None, None``; ``out = None``): the code is not written yet.
    only_none: bool = False


@dataclass(frozen=True)
class Diagnosis:
    """A recognised mistake: its catalogue id, what was seen, and the lecture's idea behind it.

    Computed once by the grading engine and stored on the failed check; every output reads it.
    """

    mistake: str  #: the id in :mod:`bpverify.feedback.mistakes`, e.g. "sign-flipped"
    saw: str  #: what the comparison showed, e.g. "dx has the right size but the wrong sign"
    idea: str  #: the lecture's idea that fixes it
    #: The value(s) the sentence is about, as it names them ("db", "dW1 and dW2"), or "".
    subject: str = ""

    @property
    def text(self) -> str:
        """The hint, one sentence: what was seen, then the idea."""
        return f"{self.saw} — {self.idea}."

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class CheckResult:
    """One property of one item (forward, backward, numerical, hygiene, ...)."""

    name: str
    status: Status
    message: str = ""
    #: The minimal failing example Hypothesis found: input name -> value (floats or nested lists).
    example: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    got: dict[str, Any] | None = None
    mismatches: tuple[ElementMismatch, ...] = ()
    mismatch_count: int = 0
    trace: tuple[GateStep, ...] = ()
    #: Short machine-readable tag of the failure, e.g. "wrong-values", "mutates-input".
    kind: str = ""
    #: Examples the check ran, and how many of them ``assume`` set aside (at a ReLU kink, past
    #: the score gap of a net): ``examples_run - examples_rejected`` were judged or failed.
    examples_run: int = 0
    examples_rejected: int = 0
    seed: int = 0
    #: The structured facts of a failure (what was compared, shapes, counts, exception type).
    facts: Facts = field(default_factory=Facts)
    #: The recognised mistake behind a failure, computed once when the item was graded.
    diagnosis: Diagnosis | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class ItemResult:
    """All checks of one contract name (a gate class, a layer function, a net, a circuit)."""

    name: str
    category: str  #: "gate", "layer", "loss", "net" or "circuit"
    status: Status
    checks: tuple[CheckResult, ...] = ()
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    #: Gradescope's visibility; "hidden" shows the kind of mistake but not its inputs.
    visibility: str = "visible"
    #: False for a rubric's optional item: when not implemented it is out of the total.
    required: bool = True

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def missing(self) -> bool:
        """A required item the submission does not define: it costs its points."""
        return self.status == "not implemented" and self.required

    @property
    def absent(self) -> bool:
        """An optional item the submission does not define: not graded, costs nothing."""
        return self.status == "not implemented" and not self.required

    @property
    def first_failure(self) -> CheckResult | None:
        return next((c for c in self.checks if c.status == "failed"), None)

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no check {name!r}; it has {[c.name for c in self.checks]}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemResult:
        """The item back from :meth:`to_dict` (after JSON: how items graded elsewhere cross)."""
        return cls(
            name=data["name"],
            category=data["category"],
            status=data["status"],
            message=data.get("message", ""),
            checks=tuple(_check_from_dict(c) for c in data["checks"]),
            score=data.get("score", 0.0),
            max_score=data.get("max_score", 0.0),
            visibility=data.get("visibility", "visible"),
            required=data.get("required", True),
        )


@dataclass(frozen=True)
class SubmissionResult:
    """Everything bpverify found about one submission."""

    submission: str
    seed: int
    profile: str
    items: tuple[ItemResult, ...]
    bpverify_version: str
    load_error: str = ""
    rubric: str = "default"
    duration_s: float = field(default=0.0, compare=False)
    #: What the grader noticed about the submission as a whole, for every output to show:
    #: the rubric it chose and why, modules it stood in for, files it could not import.
    notes: tuple[str, ...] = ()
    #: How the submission was contained, e.g. "landlock abi 7 + pid namespace + no network",
    #: "in-process (no isolation)".
    sandbox: str = ""

    @property
    def reproduce(self) -> str:
        """The command that grades this submission again with the same examples."""
        rubric = "" if self.rubric == "default" else f" --rubric {self.rubric}"
        return (f"bpverify grade {self.submission}{rubric} --seed {self.seed} "
                f"--profile {self.profile}")

    @property
    def score(self) -> float:
        return round(sum(i.score for i in self.items), 6)

    @property
    def max_score(self) -> float:
        return round(sum(i.max_score for i in self.items), 6)

    @property
    def passed(self) -> bool:
        """Every graded item passed (an optional item the submission lacks is not graded)."""
        return all(i.status == "passed" for i in self.graded_items)

    @property
    def graded_items(self) -> tuple[ItemResult, ...]:
        """The items that count: all but the optional ones the submission does not define."""
        return tuple(i for i in self.items if not i.absent)

    @property
    def missing_items(self) -> tuple[str, ...]:
        """Required items the submission does not define (each costs its points)."""
        return tuple(i.name for i in self.items if i.missing)

    @property
    def absent_items(self) -> tuple[str, ...]:
        """Optional items the submission does not define (not graded, cost nothing)."""
        return tuple(i.name for i in self.items if i.absent)

    def item(self, name: str) -> ItemResult:
        for i in self.items:
            if i.name == name:
                return i
        raise KeyError(f"no item {name!r}; items are {[i.name for i in self.items]}")

    @property
    def failed_items(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items if i.status == "failed")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        items = tuple(ItemResult.from_dict(i) for i in data["items"])
        return cls(
            submission=data["submission"],
            seed=data["seed"],
            profile=data["profile"],
            items=items,
            bpverify_version=data["bpverify_version"],
            load_error=data.get("load_error", ""),
            rubric=data.get("rubric", "default"),
            duration_s=data.get("duration_s", 0.0),
            notes=tuple(data.get("notes", ())),
            sandbox=data.get("sandbox", ""),
        )


def _facts_from_dict(f: dict[str, Any] | None) -> Facts:
    f = dict(f or {})
    for k in ("got_shape", "expected_shape"):
        if f.get(k) is not None:
            f[k] = tuple(f[k])
    for k in ("missing_keys", "built_on"):
        if k in f:
            f[k] = tuple(f[k])
    return Facts(**f)


def _check_from_dict(c: dict[str, Any]) -> CheckResult:
    d = c.get("diagnosis")
    return CheckResult(
        **{
            **c,
            "facts": _facts_from_dict(c.get("facts")),
            "diagnosis": Diagnosis(**d) if d else None,
            "mismatches": tuple(
                ElementMismatch(**{**m, "index": tuple(m["index"])}) for m in c["mismatches"]
            ),
            "trace": tuple(
                GateStep(
                    **{
                        **s,
                        **{
                            k: tuple(s[k])
                            for k in ("inputs", "input_values", "grads", "expected_grads",
                                      "local_grads")
                        },
                    }
                )
                for s in c["trace"]
            ),
        }
    )
