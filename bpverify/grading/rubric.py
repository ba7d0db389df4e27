"""Rubrics: which items are graded, for how many points, shown how, and found where.

A rubric is a TOML file (see ``bpverify/grading/rubrics/default.toml`` and the items it gets
from its families, ``bpverify/families/*/rubric-default.toml``)::

    name = "my-course"
    layout = "python"          # or "cs231n": an assignment folder graded as it is
    visibility = "visible"     # visible | hidden | after_due_date | after_published

    [weights]                  # default weight of each check (partial credit per check)
    backward = 3
    hygiene = 1                # in-place modification of dout costs this share

    [items.MultiplyGate]
    points = 4
    weights = { hygiene = 0 }  # per item: here mutation is reported but costs nothing
    visibility = "hidden"      # the student sees the kind of mistake, not its inputs
    names = ["MultiplyGate", "MulGate"]   # where to find it: aliases, first found wins
    module = "gates"           # only in gates.py of a package folder

    [items.TwoLayerNet]
    points = 5
    required = false           # graded when the submission defines it, free when it does not

Every item is required unless it says ``required = false``.  A required item the submission
does not define is *missing*: it scores 0 of its points.  An optional item is graded, and
counted, when the submission defines it; when it does not, it is left out of the total (its
``max_score`` is 0) and reported as not in the submission, not as a mistake.  The built-in
``autograd`` rubric makes the operations beyond micrograd's own engine optional (tanh, exp,
log, sigmoid); a course that asks for them copies the rubric and removes ``required = false``.

Built-in rubrics: ``default``, ``cs231n``, ``layer-classes`` and ``autograd``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpverify import registry
from bpverify.model import ItemResult
from bpverify.submission.loading import LAYOUTS
from bpverify.submission.relatives import parse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "BUILTIN",
    "ItemRule",
    "Rubric",
    "RubricError",
    "builtin_names",
    "choose_rubric",
    "defined_names",
    "load_rubric",
]

BUILTIN = ("default", "cs231n")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
#: Checks that are advice, not grading, unless a rubric gives them a weight: softmax_loss at
#: extreme margins (log-sum-exp), which the course's own starter code does not meet, and an
#: engine's tanh, sigmoid and exp at extreme inputs, where the lecture's formulas overflow.
ADVISORY = {"margins": 0.0, "extremes": 0.0}


class RubricError(ValueError):
    """A rubric file that does not say what bpverify needs, with where and what was expected."""


@dataclass(frozen=True)
class ItemRule:
    name: str
    points: float
    weights: dict[str, float]
    visibility: str
    names: tuple[str, ...] = ()
    module: str | None = None
    #: False: graded when the submission defines it, left out of the total when it does not.
    required: bool = True

    def weight(self, check: str) -> float:
        return self.weights.get(check, ADVISORY.get(check, 1.0))


@dataclass(frozen=True)
class Rubric:
    name: str
    description: str
    layout: str
    visibility: str
    items: tuple[ItemRule, ...]
    options: dict[str, Any] = field(default_factory=dict)
    default_weights: dict[str, float] = field(default_factory=dict)
    source: str = ""

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.items)

    def rule(self, item: str) -> ItemRule:
        """The item's rule; an item graded outside the rubric (``only=``) is worth 1 point."""
        for r in self.items:
            if r.name == item:
                return r
        return ItemRule(item, 1.0, dict(self.default_weights), self.visibility)

    @property
    def lookup(self) -> dict[str, tuple[tuple[str, ...], str | None]]:
        """Contract name -> (aliases to try, module to look in), for the loader."""
        return {r.name: (r.names or (r.name,), r.module) for r in self.items
                if r.names or r.module}

    def score(self, item: ItemResult) -> tuple[float, float]:
        """(score, max_score) of one graded item: checks share its points by weight."""
        rule = self.rule(item.name)
        if item.status == "not implemented" and not rule.required:
            return 0.0, 0.0  # an optional item the submission does not have: out of the total
        if item.status == "not implemented" or not item.checks:
            return 0.0, rule.points
        # A check that could not be judged (it needs another item that is wrong) costs nothing:
        # the item is scored over the checks that were judged.
        judged = [c for c in item.checks if c.status != "skipped"]
        total = sum(rule.weight(c.name) for c in judged)
        if total <= 0:
            ok = judged and (item.status == "passed" or self.advisory_only(item))
            return (rule.points if ok else 0.0), rule.points
        earned = sum(rule.weight(c.name) for c in judged if c.status == "passed")
        return round(rule.points * earned / total, 6), rule.points

    def advisory_only(self, item: ItemResult) -> bool:
        """The item failed only checks of weight 0 here: they are reported and cost nothing."""
        rule = self.rule(item.name)
        failed = [c for c in item.checks if c.status == "failed"]
        return bool(failed) and all(rule.weight(c.name) == 0 for c in failed)


def _where(source: str, key: str) -> str:
    return f"{source}: {key}"


def _number(value: Any, where: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise RubricError(f"{where} is {value!r}; expected a number >= {minimum:g}")
    return float(value)


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise RubricError(f"{where} is {value!r}; expected one of {', '.join(choices)}")
    return str(value)


def parse_rubric(data: dict[str, Any], source: str) -> Rubric:
    """Validate a parsed TOML document; every error names the key and what was expected."""
    known = {"name", "description", "layout", "visibility", "weights", "items", "options"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RubricError(f"{source}: unknown top-level key(s) {unknown}; expected some of "
                          f"{sorted(known)}")
    layout = _choice(data.get("layout", "python"), LAYOUTS, _where(source, "layout"))
    visibility = _choice(data.get("visibility", "visible"), VISIBILITIES,
                         _where(source, "visibility"))
    weights = {str(k): _number(v, _where(source, f"weights.{k}"))
               for k, v in dict(data.get("weights", {})).items()}
    items = data.get("items")
    if not isinstance(items, dict) or not items:
        raise RubricError(f"{source}: no [items.NAME] tables; expected at least one item, "
                          'e.g. [items.MultiplyGate] with points = 4')
    contract = {i.name for i in registry.all_items()}
    rules = []
    for name, spec in items.items():
        where = _where(source, f"items.{name!r}")
        if name not in contract:
            raise RubricError(
                f"{where}: no such item; expected one of {', '.join(sorted(contract))}"
            )
        if not isinstance(spec, dict):
            raise RubricError(f"{where} is {spec!r}; expected a table with points = N")
        extra = sorted(set(spec) - {"points", "weights", "visibility", "names", "module",
                                    "required"})
        if extra:
            raise RubricError(f"{where}: unknown key(s) {extra}; expected points, weights, "
                              "visibility, names, module, required")
        required = spec.get("required", True)
        if not isinstance(required, bool):
            raise RubricError(f"{where}.required is {required!r}; expected true or false")
        names = spec.get("names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise RubricError(f"{where}.names is {names!r}; expected a list of names")
        module = spec.get("module")
        if module is not None and (not isinstance(module, str) or not module):
            raise RubricError(f"{where}.module is {module!r}; expected a module name")
        rules.append(ItemRule(
            name=name,
            points=_number(spec.get("points", 1), f"{where}.points"),
            weights={**weights, **{str(k): _number(v, f"{where}.weights.{k}")
                                   for k, v in dict(spec.get("weights", {})).items()}},
            visibility=_choice(spec.get("visibility", visibility), VISIBILITIES,
                               f"{where}.visibility"),
            names=tuple(names),
            module=module,
            required=required,
        ))
    order = [i.name for i in registry.all_items()]
    rules.sort(key=lambda r: order.index(r.name))
    return Rubric(
        name=str(data.get("name", Path(source).stem)),
        description=str(data.get("description", "")),
        layout=layout,
        visibility=visibility,
        items=tuple(rules),
        options=dict(data.get("options", {})),
        default_weights=weights,
        source=source,
    )


def choose_rubric(path: str | Path, found: Iterable[str], *, failed: bool = False
                  ) -> tuple[str, str]:
    """The built-in rubric for the submission at ``path`` that defines ``found``, and why.

    The reason is empty when the choice is the default rubric for the usual reason (the
    submission defines names of the default contract, or nothing recognisable at all).
    ``failed``: the submission did not import, so nothing was found by loading it; the names
    its source defines at the top level choose instead (a script that trains at import and
    runs out of time is still graded on its own rubric, every item saying why it got nothing).
    """
    path = Path(path)
    if path.is_dir() and (path / "cs231n").is_dir():
        return "cs231n", (f"{path.name or path} holds a cs231n/ package: graded with the cs231n "
                          "rubric (--rubric chooses another)")
    names = set(found)
    if failed and not names:
        chosen, why = choose_rubric(path, defined_names(path))
        return chosen, why and f"{why}; read from its source, since it did not import"
    own = len(names & {n for i in registry.default_items() for n in i.needs})
    for rubric, what, selecting in registry.auto_rubrics():
        hits = [n for n in selecting if n in names]
        # More of a family's names than of the contract's: a book's layer file also defines
        # a TwoLayerNet, which is not the contract's.
        if len(hits) > own:
            shown = ", ".join(hits[:4]) + (", ..." if len(hits) > 4 else "")
            other = ("no names of the default contract were found" if not own else
                     f"fewer names of the default contract were found ({own})")
            return rubric, (f"{other}, and {shown} look{'s' if len(hits) == 1 else ''} like "
                            f"{what}: graded with the {rubric} rubric (--rubric chooses "
                            "another)")
    return "default", ""


def defined_names(path: Path, most: int = 200) -> set[str]:
    """The classes and functions the Python source at ``path`` (a file, or a folder's files, at
    most ``most`` of them) defines at the top level, read without running it."""
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))[:most]
    names: set[str] = set()
    for f in files:
        source = parse(f)  # kept: loading the submission reads these files again
        if source is None:
            continue
        names |= {n.name for n in source[1].body
                  if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))}
    return names


def load_rubric(name_or_path: str | Path | Rubric | None = None) -> Rubric:
    """A built-in rubric by name (``default``, ``cs231n``) or a TOML file."""
    if isinstance(name_or_path, Rubric):
        return name_or_path
    spec = str(name_or_path or "default")
    builtin = spec in builtin_names()
    if builtin:
        path = registry.rubric_file(spec) or Path(__file__).parent / "rubrics" / f"{spec}.toml"
    else:
        path = Path(spec)
        if not path.is_file():
            raise RubricError(f"rubric {spec!r}: no such file and not a built-in rubric; "
                              f"expected a .toml file or one of {', '.join(builtin_names())}")
    data = _read_toml(path)
    if builtin:
        for fragment in registry.rubric_fragments(spec):
            _add_fragment(data, _read_toml(fragment), str(fragment))
    return parse_rubric(data, spec if builtin else str(path))


def builtin_names() -> tuple[str, ...]:
    """Every built-in rubric's name: the core's and the families' own."""
    return (*BUILTIN, *registry.builtin_rubrics())


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: not valid TOML: {exc}") from None


def _add_fragment(data: dict[str, Any], fragment: dict[str, Any], source: str) -> None:
    """Add a family's items to a built-in rubric: its ``[items.X]`` tables, each with the
    fragment's ``[weights]`` under its own."""
    unknown = sorted(set(fragment) - {"weights", "items"})
    if unknown:
        raise RubricError(f"{source}: unknown top-level key(s) {unknown}; a rubric fragment "
                          "has only [weights] and [items.NAME] tables")
    weights = dict(fragment.get("weights", {}))
    items = data.setdefault("items", {})
    for name, spec in dict(fragment.get("items", {})).items():
        if name in items:
            raise RubricError(f"{source}: item {name!r} is already in the rubric")
        spec = dict(spec)
        spec["weights"] = {**weights, **dict(spec.get("weights", {}))}
        items[name] = spec
