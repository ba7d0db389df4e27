"""The zoo: realistic student submissions, graded end to end through ``check_submission``.

``tests/zoo/mistakes/`` holds one classic mistake per file.  Each file starts with
``from reference import *`` and redefines only the broken name(s); its module-level dict
``EXPECT`` maps every item that must fail to one check of it that must fail.  Optional dicts:
``ONLY_CHECKS`` maps an item to the exact set of its checks that fail (for mistakes that must
be caught by one property and no other, e.g. an in-place update caught only by hygiene), and
``KINDS`` maps an item to the failure kind its EXPECT check must report, and
``DIAGNOSES`` to the catalogue id of the mistake its EXPECT check must be diagnosed as.

Cost: a mistake is graded on the items that use a name it redefines (its *affected* items).
Every other item runs the very same reference objects, on the same seeded examples, as grading
the reference itself (which tests/test_reference.py does), so grading them again per file would
only repeat that result, at ~10 s of CPU per file (the two nets dominate).  The few mistakes in
``ALWAYS_FULL`` (in-place mutation, state on the class: the ones that could leak into other
items) are graded on every item of the core contract, and ``BPVERIFY_ZOO_FULL=1`` grades
every mistake on every item.

A file may also state ``DIAGNOSIS``, the catalogue id its first EXPECT check must be
diagnosed as (tests/test_diagnose.py), instead of an entry in that test's table.

Items: the default rubric's, which are the core contract's and those every family adds to it
(``rubric-default.toml`` in a family folder).  ``ALWAYS_FULL`` mistakes are graded on the core
contract's items, and ``BPVERIFY_ZOO_FULL=1`` grades every mistake on every item of the rubric.

``tests/zoo/correct/`` holds correct variants (subgradients at ties, lists for tuples, float32,
naive loops, package and plain folders, a family's own course-style code): every item of the
core contract, and every family item the file defines, must pass.  ``tests/zoo/unfinished/``
holds a partial submission and one that does not parse.

The zoo files are read with ``ast`` (never imported here): the harness is the only door.
"""

from __future__ import annotations

import ast
import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

import bpverify
from bpverify import ITEMS
from bpverify.grading.rubric import load_rubric
from bpverify.registry import all_items

ZOO = Path(__file__).resolve().parent / "zoo"
REFERENCE = ZOO.parent.parent / "reference"
MISTAKES = sorted((ZOO / "mistakes").glob("*.py"))
CORRECT = sorted(
    p for p in (ZOO / "correct").iterdir()
    if (p.suffix == ".py" or p.is_dir()) and not p.name.startswith(("_", "."))
)
PARTIAL = ZOO / "unfinished" / "partial_submission.py"
SYNTAX_ERROR = ZOO / "unfinished" / "syntax_error.py"

ITEM_NAMES = [i.name for i in ITEMS]
#: Every item of the default rubric: the core contract's, then the families'.
DEFAULT_ITEMS = [r.name for r in load_rubric("default").items]
NEEDS = {i.name: set(i.needs) for i in all_items()}
PROFILE = "ci"
#: Grade every mistake on every item, not only on the items it affects.
FULL = os.environ.get("BPVERIFY_ZOO_FULL", "") not in ("", "0")
#: Mistakes graded on every item even without BPVERIFY_ZOO_FULL (see the module docstring).
ALWAYS_FULL = {"relu_backward_inplace", "exp_backward_inplace", "multiply_state_on_class"}
#: The zoo keeps at least this many mistakes.
MIN_MISTAKES = 32


def _literals(path: Path) -> dict[str, Any]:
    """Module-level ``NAME = <literal>`` assignments of a zoo file, without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id.isupper():
                with contextlib.suppress(ValueError):
                    found[target.id] = ast.literal_eval(node.value)
    return found


def _redefined(path: Path) -> set[str]:
    """Names a zoo file defines at module level (classes, functions, assignments)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _affected(path: Path) -> list[str]:
    """The items that use a contract name the file redefines, in the rubric's order."""
    names = _redefined(path)
    return [item for item in DEFAULT_ITEMS if NEEDS[item] & names]


def _grade(path: Path, only: list[str] | None = None) -> bpverify.SubmissionResult:
    return bpverify.check_submission(path, profile=PROFILE, only=only)


def _internal_errors(result: bpverify.SubmissionResult) -> list[str]:
    return [
        f"{i.name} / {c.name}:\n{c.message}"
        for i in result.items for c in i.checks if c.kind == "internal-error"
    ]


def _describe(result: bpverify.SubmissionResult) -> str:
    """Every non-passing check, one line each, for assertion messages."""
    lines = []
    for i in result.items:
        for c in i.checks:
            if c.status != "passed":
                first = c.message.splitlines()[0][:300] if c.message else ""
                lines.append(f"  {i.name} / {c.name}: {c.status} [{c.kind}] {first}"
                             f"\n      example: {str(c.example)[:300]}")
        if i.status == "not implemented":
            lines.append(f"  {i.name}: not implemented ({i.message[:200]})")
    return "\n".join(lines) or "  (every check passed)"


# --- the zoo itself follows its conventions --------------------------------------------------


def test_zoo_has_enough_mistakes() -> None:
    assert len(MISTAKES) >= MIN_MISTAKES, [p.stem for p in MISTAKES]


@pytest.mark.parametrize("path", MISTAKES, ids=lambda p: p.stem)
def test_mistake_file_is_well_formed(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert doc and "\n" not in doc.strip(), "a one-line docstring describes the mistake"
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert any(
        isinstance(n, ast.ImportFrom) and n.module == "reference" and n.names[0].name == "*"
        for n in imports
    ), "every other name comes from `from reference import *`"
    lits = _literals(path)
    expect = lits.get("EXPECT")
    assert isinstance(expect, dict) and expect, "EXPECT = {item: check that must fail}"
    assert set(expect) <= set(DEFAULT_ITEMS), set(expect) - set(DEFAULT_ITEMS)
    assert all(isinstance(c, str) for c in expect.values())
    only = lits.get("ONLY_CHECKS", {})
    assert set(only) <= set(expect), "ONLY_CHECKS may only refine items listed in EXPECT"
    for item, checks in only.items():
        assert expect[item] in checks, f"{item}: EXPECT's check must be among ONLY_CHECKS"
    assert set(lits.get("KINDS", {})) <= set(expect), "KINDS may only refine EXPECT's items"
    assert set(lits.get("DIAGNOSES", {})) <= set(expect), "DIAGNOSES may only refine EXPECT's"
    assert set(expect) <= set(_affected(path)), (
        "an item can only fail if the file redefines a name it uses"
    )


# --- mistakes are caught, and only where they are ---------------------------------------------


@pytest.mark.parametrize("path", MISTAKES, ids=lambda p: p.stem)
def test_mistake_is_caught_exactly_where_expected(path: Path) -> None:
    lits = _literals(path)
    expect: dict[str, str] = lits["EXPECT"]
    only: dict[str, tuple[str, ...]] = lits.get("ONLY_CHECKS", {})
    kinds: dict[str, str] = lits.get("KINDS", {})
    diagnoses: dict[str, str] = lits.get("DIAGNOSES", {})
    graded = (DEFAULT_ITEMS if FULL else ITEM_NAMES if path.stem in ALWAYS_FULL
              else _affected(path))
    result = _grade(path, None if graded == DEFAULT_ITEMS else graded)
    report = _describe(result)

    assert not _internal_errors(result), "\n".join(_internal_errors(result))
    assert result.load_error == "", result.load_error
    assert [i.name for i in result.items] == graded
    assert all(i.status != "not implemented" for i in result.items), report
    # No false pass and no collateral failure: exactly the expected items fail.
    assert set(result.failed_items) == set(expect), (
        f"failed items {sorted(result.failed_items)} != expected {sorted(expect)}\n{report}"
    )
    for item_name, check_name in expect.items():
        check = result.item(item_name).check(check_name)
        assert check.status == "failed", f"{item_name} / {check_name} did not fail\n{report}"
        assert check.message, f"{item_name} / {check_name} failed without a message"
        if item_name in kinds:
            assert check.kind == kinds[item_name], (
                f"{item_name} / {check_name}: kind {check.kind!r}, expected "
                f"{kinds[item_name]!r}: {check.message[:300]}"
            )
        if item_name in diagnoses:
            seen = check.diagnosis.mistake if check.diagnosis else None
            assert seen == diagnoses[item_name], (
                f"{item_name} / {check_name}: diagnosed as {seen!r}, expected "
                f"{diagnoses[item_name]!r}: {check.message[:300]}"
            )
    for item_name, checks in only.items():
        failing = {c.name for c in result.item(item_name).checks if c.status == "failed"}
        assert failing == set(checks), (
            f"{item_name}: failing checks {sorted(failing)} != expected {sorted(checks)}\n{report}"
        )


@pytest.mark.parametrize(
    ("stem", "item"),
    [("add_returns_dz_zero", "AddGate"), ("sigmoid_grad_is_sigma", "SigmoidGate")],
)
def test_wrong_math_is_not_diagnosed_as_shared_state(stem: str, item: str) -> None:
    """A gate with no state at all, or state kept on self, is never told to move it off the class.

    Its backward is wrong on *every* example, so the instances check fails too; it must then say
    what the backward check says, not diagnose shared state.
    """
    result = _grade(ZOO / "mistakes" / f"{stem}.py", [item])
    (got,) = result.items
    assert got.check("backward").status == "failed"
    instances = got.check("instances")
    assert instances.kind != "shared-state", instances.message


# --- correct variants pass everything ---------------------------------------------------------


@pytest.mark.parametrize("path", CORRECT, ids=lambda p: p.stem)
def test_correct_variant_passes_every_item(path: Path) -> None:
    own = _affected(path) if path.suffix == ".py" else []
    graded = [i for i in DEFAULT_ITEMS if i in ITEM_NAMES or i in own]
    result = _grade(path, None if FULL else graded)
    report = _describe(result)
    assert not _internal_errors(result), "\n".join(_internal_errors(result))
    assert result.load_error == "", result.load_error
    assert [i.name for i in result.items] == (DEFAULT_ITEMS if FULL else graded)
    not_passed = [i.name for i in result.items if i.status != "passed"]
    assert not not_passed, f"items not passed: {not_passed}\n{report}"
    assert result.passed


# --- unfinished submissions -------------------------------------------------------------------


def test_partial_submission_is_not_implemented_rather_than_failed() -> None:
    implemented = set(_literals(PARTIAL)["IMPLEMENTED"])
    result = _grade(PARTIAL)
    report = _describe(result)
    assert not _internal_errors(result), "\n".join(_internal_errors(result))
    assert result.load_error == ""
    assert result.failed_items == (), report
    for item in result.items:
        want = "passed" if item.name in implemented else "not implemented"
        assert item.status == want, f"{item.name}: {item.status}, expected {want}\n{report}"
        if want == "not implemented":
            assert item.checks == ()
            assert "not implemented" in item.message
    assert result.item("relu_backward").message.count("relu_backward") == 1, (
        "relu_backward needs relu_forward (present) and relu_backward (missing): only the "
        "missing one is named"
    )


def test_syntax_error_makes_every_item_not_implemented() -> None:
    with pytest.raises(SyntaxError) as info:
        compile(SYNTAX_ERROR.read_text(encoding="utf-8"), str(SYNTAX_ERROR), "exec")
    line = info.value.lineno
    result = _grade(SYNTAX_ERROR)
    assert "SyntaxError" in result.load_error
    assert f"line {line}" in result.load_error, result.load_error
    assert SYNTAX_ERROR.name in result.load_error
    assert [i.name for i in result.items] == DEFAULT_ITEMS
    assert all(i.status == "not implemented" for i in result.items), _describe(result)
    assert all("SyntaxError" in i.message for i in result.items)
    assert not result.passed and result.failed_items == ()


# --- the lecture's worked examples, through the public API ------------------------------------


def _lecture_trace(item: str) -> tuple[bpverify.GateStep, ...]:
    result = bpverify.check_submission(REFERENCE, profile=PROFILE, only=[item])
    (got,) = result.items
    check = got.check("lecture values")
    assert got.status == "passed" and check.status == "passed", _describe(result)
    return check.trace


def test_lecture_values_of_the_add_multiply_circuit() -> None:
    add, mul = _lecture_trace("circuit (x+y)*z")
    assert (add.gate, mul.gate) == ("AddGate", "MultiplyGate")
    assert add.input_values == (-2.0, 5.0) and mul.input_values == (3.0, -4.0)
    assert mul.output_value == -12.0  # f
    dq, dz = mul.grads
    dx, dy = add.grads
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)
    assert add.upstream == dq == -4.0 and mul.upstream == 1.0


def test_lecture_values_of_the_sigmoid_neuron_circuit() -> None:
    trace = _lecture_trace("circuit sigmoid neuron")
    by_output = {s.output: s for s in trace}
    assert [s.gate for s in trace] == [
        "MultiplyGate", "MultiplyGate", "AddGate", "AddGate",
        "ScaleGate", "ExpGate", "AddConstGate", "ReciprocalGate",
    ]
    assert round(trace[-1].output_value, 2) == 0.73
    w0x0, w1x1, bias = by_output["a"], by_output["b"], by_output["d"]
    assert w0x0.inputs == ("w0", "x0") and w1x1.inputs == ("w1", "x1")
    assert bias.inputs == ("c", "w2")
    dw = (w0x0.grads[0], w1x1.grads[0], bias.grads[1])
    dx = (w0x0.grads[1], w1x1.grads[1])
    assert tuple(round(g, 2) for g in dw) == (-0.20, -0.39, 0.20)
    assert tuple(round(g, 2) for g in dx) == (0.39, -0.59)
