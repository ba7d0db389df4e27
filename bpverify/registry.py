"""The one registry of families of items: every family is one folder of ``bpverify/families/``.

bpverify grows by families of items (the lecture's gates, CS231n's functions, the book's layer
classes, autograd engines, ...).  A family is a package ``bpverify/families/<name>/`` built of
the same role modules, so that a reader who knows one family knows where everything of every
other family lives (Django's apps are the model)::

    __init__.py     FAMILY = Family(...): the record below, and nothing else
    contract.py     ITEMS: the family's items (names, categories, the names they need);
                    ON_REQUEST = True: they are graded only when asked for (optional);
                    NAMES: the names looked up in a submission as they are spelled (default:
                    every name its items need, unless the family has a finder);
                    CS231N_MODULES: the modules of a CS231n assignment folder that define
                    its names (``{"cs231n.layers": ("batchnorm_forward", ...)}``, optional)
    finder.py       find(namespaces, sub): recognise the family's objects under other
                    spellings (optional)
    scenarios.py    SCENARIOS: name -> function calling the submission (worker side: numpy
                    only, never jax, hypothesis, rich or jinja2)
    checks.py       checks_for(item) -> list[Check]: strategies, oracles and judges (grader
      or checks/    side), for every category the family declares; fixed_checks(item) ->
                    {name: run(executor) -> CheckResult}: checks run once on fixed values
                    after them (optional: a circuit's "lecture values")
    feedback.py     diagnose(check, item) -> Diagnosis | None, tried before the rules every
                    item shares (GENERIC_RULES = False: those are not tried after it);
                    wrong_values(check, item) -> Diagnosis | None, a wrong-values failure the
                    shared rules did not explain; IDEAS and MISTAKES, added to the catalogue
                    (every part optional)
    explain.py      compare(hand, executor, source) -> EngineComparison: the lecture's circuit
                    of an expression built with the submission's objects, beside the hand walk
                    (``bpverify explain --engine``; optional, grader side);
                    figure(item, check) -> Figure | None: the drawing of a failed check in the
                    reports (:mod:`bpverify.teaching.figures`), from its example, values,
                    facts and diagnosis, never its message (optional)
    rubric.toml     the family's own built-in rubric, named by ``Family.rubric`` (optional)
    rubric-<name>.toml
                    items this family adds to the built-in rubric <name> (``default``,
                    ``cs231n``, ...): ``[weights]`` for its items and ``[items.X]`` tables

Adding a family is one folder plus one line in :data:`FAMILY_PACKAGES`.  The core never imports
a family's modules by name: it asks this registry, which imports them when first needed (so
the worker, which runs only scenarios, never loads a family's checks).  import-linter keeps
it so (pyproject.toml).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from bpverify.contract import Item

__all__ = [
    "FAMILY_PACKAGES",
    "AutoRubric",
    "Family",
    "all_items",
    "auto_rubrics",
    "batchable",
    "builtin_rubrics",
    "cs231n_finders",
    "cs231n_modules",
    "default_items",
    "explainer",
    "families",
    "family_of",
    "figure_maker",
    "finders",
    "item_named",
    "load_worker_side",
    "lookup_names",
    "on_request_items",
    "role",
    "rubric_file",
    "rubric_fragments",
    "scenarios",
]

#: The families, one dotted package each, in reporting order: adding a family adds a line.
FAMILY_PACKAGES: tuple[str, ...] = (
    "bpverify.families.gates",
    "bpverify.families.cs231n_layers",
    "bpverify.families.circuits",
    "bpverify.families.spiral",
    "bpverify.families.engines",
    "bpverify.families.layer_classes",
    "bpverify.families.linear_classifiers",
    "bpverify.families.update_rules",
    "bpverify.families.recurrent",
    "bpverify.families.convolution",
    "bpverify.families.normalization",
    "bpverify.families.dropout",
)

#: The role modules a family folder may have (see the module docstring).
ROLES = ("contract", "finder", "scenarios", "checks", "feedback", "explain")


@dataclass(frozen=True)
class AutoRubric:
    """When ``bpverify grade`` picks a family's rubric by itself: ``what`` its names look like
    (for the run's note) and the names that select it (more of them than of the default
    contract's names)."""

    what: str
    selecting: tuple[str, ...]


@dataclass(frozen=True)
class Family:
    """One family of items: the record a family folder's ``__init__`` defines as ``FAMILY``."""

    name: str  #: the folder's name, e.g. "engines"
    title: str  #: what it grades, for people: "scalar autograd engines (micrograd style)"
    categories: tuple[str, ...]  #: the categories of its items (``Item.category``)
    rubric: str | None = None  #: the name of its own built-in rubric (``rubric.toml``)
    auto: AutoRubric | None = None  #: when its rubric is chosen without ``--rubric``
    #: What a submission is called in messages about its items: an engine's optional
    #: operation is "not in this engine".
    noun: str = "submission"
    #: Its items are the default contract's (docs/contract.md): ``bpverify.ITEMS``, and the
    #: names a submission is compared with before a family's rubric is chosen by itself.
    default_contract: bool = False
    package: str = ""  #: its dotted package, filled in by the registry

    @property
    def folder(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise LookupError(f"family {self.name!r}: package {self.package} not found")
        return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def families() -> tuple[Family, ...]:
    """Every registered family's record, in :data:`FAMILY_PACKAGES` order."""
    found = []
    for package in FAMILY_PACKAGES:
        record = getattr(importlib.import_module(package), "FAMILY", None)
        if not isinstance(record, Family):
            raise TypeError(f"{package}/__init__.py must define FAMILY = Family(...); "
                            f"got {type(record).__name__}")
        found.append(Family(**{**record.__dict__, "package": package}))
    return tuple(found)


@functools.cache
def role(family: Family, name: str) -> ModuleType | None:
    """The family's role module ``name`` (one of :data:`ROLES`), imported now, or None when
    the family has none."""
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r}; expected one of {', '.join(ROLES)}")
    dotted = f"{family.package}.{name}"
    if importlib.util.find_spec(dotted) is None:
        return None
    return importlib.import_module(dotted)


def _each(name: str) -> list[tuple[Family, ModuleType]]:
    return [(f, m) for f in families() if (m := role(f, name)) is not None]


@functools.cache
def all_items() -> tuple[Item, ...]:
    """Every item of every family, in reporting order."""
    return tuple(i for _, m in _each("contract") for i in m.ITEMS)


@functools.cache
def on_request_items() -> tuple[Item, ...]:
    """The items graded only when asked for (``only=`` or a rubric that names them): those of
    the families whose contract says ``ON_REQUEST = True`` (they take seconds)."""
    return tuple(i for _, m in _each("contract") if getattr(m, "ON_REQUEST", False)
                 for i in m.ITEMS)


@functools.cache
def default_items() -> tuple[Item, ...]:
    """The default contract's items (docs/contract.md; ``bpverify.ITEMS``): those of the
    families whose record says ``default_contract=True`` (the lecture's gates, circuits and
    CS231n's layers)."""
    return tuple(i for f, m in _each("contract") if f.default_contract for i in m.ITEMS)


def item_named(name: str) -> Item:
    """The item called ``name``, or a ValueError that lists the names there are."""
    for item in all_items():
        if item.name == name:
            return item
    raise ValueError(f"unknown item {name!r}; expected one of "
                     f"{', '.join(i.name for i in all_items())}")


@functools.cache
def lookup_names() -> tuple[str, ...]:
    """Every name looked up in a submission as it is spelled."""
    names: list[str] = []
    for family, module in _each("contract"):
        own = getattr(module, "NAMES", None)
        if own is None and role(family, "finder") is None:
            own = [n for i in module.ITEMS for n in i.needs]
        names.extend(own or ())
    return tuple(dict.fromkeys(names))


@functools.cache
def cs231n_modules() -> dict[str, tuple[str, ...]]:
    """The modules of a CS231n assignment folder that families grade (``CS231N_MODULES`` in
    their contract: ``{"cs231n.layers": ("batchnorm_forward", ...)}``), in registry order."""
    merged: dict[str, tuple[str, ...]] = {}
    for _, module in _each("contract"):
        for name, names in getattr(module, "CS231N_MODULES", {}).items():
            merged[name] = tuple(dict.fromkeys([*merged.get(name, ()), *names]))
    return merged


def family_of(category: str) -> Family | None:
    """The registered family whose items have ``category``, or None."""
    return next((f for f in families() if category in f.categories), None)


def scenarios() -> dict[str, Callable[..., Any]]:
    """Every family's scenarios by name (worker side)."""
    found: dict[str, Callable[..., Any]] = {}
    for family, module in _each("scenarios"):
        for name, fn in module.SCENARIOS.items():
            if name in found:
                raise ValueError(f"scenario {name!r} of family {family.name} is defined twice")
            found[name] = fn
    return found


def batchable() -> tuple[str, ...]:
    """The families' scenarios that compute forward values only (their ``BATCHABLE``): the
    numerical checks may send several of them in one request."""
    return tuple(n for _, m in _each("scenarios") for n in getattr(m, "BATCHABLE", ()))


def load_worker_side() -> None:
    """Import every family's worker-side modules now: the isolated worker calls this before
    its sandbox hides bpverify's own files."""
    for family in families():
        for name in ("contract", "finder", "scenarios"):
            role(family, name)


def finders() -> list[Callable[[Sequence[Mapping[str, Any]], Any], None]]:
    """Every family's finder, in registry order."""
    return [m.find for _, m in _each("finder")]


def cs231n_finders() -> list[Callable[[Sequence[Mapping[str, Any]], Any], None]]:
    """The finders of the families that grade CS231n modules (``CS231N_MODULES``): a CS231n
    folder's modules are shown to these only."""
    return [m.find for f, m in _each("finder")
            if getattr(role(f, "contract"), "CS231N_MODULES", None)]


def checks_module(category: str) -> ModuleType | None:
    """The checks module of the family of ``category`` (grader side), or None."""
    family = family_of(category)
    return role(family, "checks") if family is not None else None


def feedback_module(category: str) -> ModuleType | None:
    """The feedback module of the family of ``category``, or None."""
    family = family_of(category)
    return role(family, "feedback") if family is not None else None


def explainer(category: str) -> ModuleType | None:
    """The ``explain`` module of the family of ``category`` (grader side), or None."""
    family = family_of(category)
    return role(family, "explain") if family is not None else None


def figure_maker(category: str) -> Callable[..., Any] | None:
    """The ``figure(item, check)`` of the family of ``category`` (its ``explain`` role), or
    None when it draws none."""
    module = explainer(category)
    return getattr(module, "figure", None) if module is not None else None


def feedback_modules() -> list[ModuleType]:
    """Every family's feedback module (their IDEAS and MISTAKES join the catalogue)."""
    return [m for _, m in _each("feedback")]


def builtin_rubrics() -> dict[str, Path]:
    """The families' own built-in rubrics: name -> its TOML file."""
    return {f.rubric: f.folder / "rubric.toml" for f in families() if f.rubric}


def rubric_file(name: str) -> Path | None:
    """The TOML file of a family's own built-in rubric ``name``, or None."""
    return builtin_rubrics().get(name)


def rubric_fragments(rubric: str) -> list[Path]:
    """The files in which families add their items to the built-in rubric ``rubric``."""
    return [p for f in families() if (p := f.folder / f"rubric-{rubric}.toml").is_file()]


def auto_rubrics() -> list[tuple[str, str, tuple[str, ...]]]:
    """(rubric, what its names look like, the names that select it) of each family that is
    chosen by what a submission defines."""
    return [(f.rubric, f.auto.what, f.auto.selecting) for f in families()
            if f.rubric and f.auto is not None]
