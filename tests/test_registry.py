"""The registry of families: every family is one folder, and adding one is a folder plus a line.

The end-to-end test builds a small family of its own in a temporary folder (its record, items,
scenario, check, diagnosis and a fragment of the default rubric), registers it with one line,
and grades a correct and a wrong submission through the public API.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import bpverify
from bpverify import registry
from bpverify.feedback import mistakes
from bpverify.grading.rubric import builtin_names, load_rubric

FAMILY_FILES = {
    "__init__.py": '''
        from bpverify.registry import Family
        FAMILY = Family(name="doubling", title="a doubling function", categories=("doubling",))
    ''',
    "contract.py": '''
        from bpverify.contract import Item
        ITEMS = (Item("double", "doubling", ("double",)),)
    ''',
    "scenarios.py": '''
        from bpverify.submission.namespace import call_student
        from bpverify.submission.scenarios import copied, plain

        def double(sub, x):
            return plain(call_student("double", sub.names["double"], copied(x)))

        SCENARIOS = {"double": double}
    ''',
    "checks.py": '''
        import numpy as np
        from hypothesis import strategies as st
        from bpverify.grading.checks.base import Check, CheckFailed

        def _run(ex, x):
            got = float(ex.call("double", x=np.float64(x)))
            if abs(got - 2 * x) > 1e-9 * max(1.0, abs(x)):
                raise CheckFailed("wrong-values", f"double({x}) returned {got}",
                                  expected={"out": 2 * x}, got={"out": got})
            return True

        def checks_for(item):
            return [Check("forward", st.floats(-10, 10, allow_nan=False), _run)]
    ''',
    "feedback.py": '''
        from bpverify.feedback.mistakes import KnownMistake, found

        IDEAS = {"doubling": "doubling is multiplying by 2"}
        MISTAKES = (KnownMistake("tripled", "doubling", "multiplied by 3 instead of 2"),)

        def diagnose(check, item):
            exp, got = (check.expected or {}).get("out"), (check.got or {}).get("out")
            if exp and got is not None and abs(got - 1.5 * exp) < 1e-9 * abs(exp):
                return found("tripled", "it returned 3x")
            return None
    ''',
    "rubric-default.toml": '''
        [weights]
        forward = 1
        [items.double]
        points = 5
    ''',
}


def _clear_caches() -> None:
    for fn in (registry.families, registry.role, registry.all_items, registry.lookup_names,
               registry.cs231n_modules, mistakes.add_families):
        fn.cache_clear()


@pytest.fixture
def doubling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    package = tmp_path / "families_site" / "bpv_doubling"
    package.mkdir(parents=True)
    for name, text in FAMILY_FILES.items():
        (package / name).write_text(textwrap.dedent(text).lstrip())
    monkeypatch.syspath_prepend(str(package.parent))
    importlib.invalidate_caches()
    monkeypatch.setattr(registry, "FAMILY_PACKAGES", (*registry.FAMILY_PACKAGES, "bpv_doubling"))
    _clear_caches()
    yield "bpv_doubling"
    _clear_caches()
    for name in [m for m in sys.modules if m.startswith("bpv_doubling")]:
        del sys.modules[name]


def test_every_registered_family_is_a_folder_of_role_modules() -> None:
    seen: set[str] = set()
    for family in registry.families():
        assert family.package == f"bpverify.families.{family.name}"
        assert family.folder.is_dir() and not (set(family.categories) & seen)
        seen |= set(family.categories)
        contract = registry.role(family, "contract")
        assert contract is not None and contract.ITEMS
        assert {i.category for i in contract.ITEMS} <= set(family.categories)
        assert callable(registry.role(family, "checks").checks_for)  # type: ignore[union-attr]
        if family.rubric:
            assert family.rubric in builtin_names()
            assert load_rubric(family.rubric).item_names


def test_feedback_hooks_take_the_check_and_the_item() -> None:
    """The core calls a family's ``diagnose`` and ``wrong_values`` as ``(check, item)``: a
    feedback module must not export another function under those names (one that imported
    the shared ``patterns.wrong_values(check, exp, got)`` as is crashed every diagnosis of
    its family's wrong values)."""
    import inspect

    for family in registry.families():
        feedback = registry.role(family, "feedback")
        for hook in ("diagnose", "wrong_values"):
            fn = getattr(feedback, hook, None)
            if fn is None:
                continue
            params = list(inspect.signature(fn).parameters.values())
            required = [p for p in params if p.default is inspect.Parameter.empty]
            assert len(required) == 2 and len(params) >= 2, (
                f"{family.name}/feedback.py: {hook}{inspect.signature(fn)}; expected "
                f"{hook}(check, item)")


def test_a_family_is_one_folder_plus_one_registry_line(doubling: str, tmp_path: Path) -> None:
    assert registry.item_named("double").category == "doubling"
    rubric = load_rubric("default")
    assert "double" in rubric.item_names and rubric.rule("double").points == 5
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text("def double(x):\n    return 2 * x\n")
    bad.write_text("def double(x):\n    return 3 * x\n")
    passed = bpverify.check_submission(good, only=["double"], profile="ci")
    assert passed.items[0].status == "passed" and passed.items[0].score == 5
    failed = bpverify.check_submission(bad, only=["double"], profile="ci")
    check = failed.items[0].checks[0]
    assert failed.items[0].status == "failed" and failed.items[0].score == 0
    assert check.diagnosis is not None and check.diagnosis.mistake == "tripled"
    assert "doubling is multiplying by 2" in check.diagnosis.text
    assert json.loads(failed.to_json())["items"][0]["name"] == "double"


def test_a_family_record_must_be_a_family(doubling: str, tmp_path: Path) -> None:
    init = Path(importlib.import_module(doubling).__file__ or "")
    init.write_text("FAMILY = 'doubling'\n")
    del sys.modules[doubling]
    _clear_caches()
    with pytest.raises(TypeError, match=r"must define FAMILY = Family\(\.\.\.\); got str"):
        registry.families()
