"""The class summary: how a whole class did, as pure functions of many results.

``summarize(results)`` turns a list of :class:`SubmissionResult` into a :class:`ClassSummary`:
each submission's score, the score distribution, and for each item the share that passed, that
did not implement it, and the most common mistakes: the diagnoses the grader stored on each
failed check, said by the mistakes catalogue's phrases (:mod:`bpverify.feedback.mistakes`):
"31% did not sum db over the batch".  A submission counts at most once per mistake per item,
however many of the item's checks show it.  Each family of items (:mod:`bpverify.registry`:
the normalization layers, the recurrent ones, the update rules, ...) also counts its mistakes
across all its items: "40% left the path through the mean out of dx" in batchnorm_backward or
in batchnorm_backward_alt, each submission once.  ``to_csv``, ``to_summary_html`` and
``render_summary`` are formats of that summary; none of them reads a clock, so the same results
give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpverify.feedback.mistakes import phrase
from bpverify.model import ItemResult, SubmissionResult
from bpverify.registry import family_of

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "ClassSummary",
    "FamilySummary",
    "ItemSummary",
    "Mistake",
    "ResultFileError",
    "SubmissionRow",
    "read_result",
    "render_summary",
    "summarize",
    "to_csv",
    "to_summary_html",
    "write_summary",
]

#: The histogram's bins: 0-10%, 10-20%, ..., 90-100% (100% falls in the last one).
BINS = 10
#: How many of an item's most common mistakes the terminal shows (the HTML page shows all).
TERMINAL_MISTAKES = 2

class ResultFileError(ValueError):
    """A file that is not a bpverify result; the message names it and says what was expected."""


@dataclass(frozen=True)
class Mistake:
    """One recognised mistake on one item, and who made it."""

    tag: str  #: the diagnosis tag, e.g. "not-summed-over-batch"
    phrase: str  #: e.g. "did not sum db over the batch"
    count: int  #: submissions that made it (each at most once)
    share: float  #: count / the submissions graded on the item
    submissions: tuple[str, ...]

    @property
    def text(self) -> str:
        """E.g. "31% did not sum db over the batch"."""
        return f"{_pct(self.share)} {self.phrase}"


@dataclass(frozen=True)
class ItemSummary:
    """One item across the class."""

    name: str
    category: str
    graded: int  #: submissions graded on this item
    passed: int
    failed: int
    not_implemented: int
    max_score: float
    mean_score: float
    mistakes: tuple[Mistake, ...]  #: most common first
    #: failed, but no check's failure matched a known mistake
    unexplained: tuple[str, ...] = ()

    def share(self, count: int) -> float:
        return count / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class FamilySummary:
    """One family of items across the class: its mistakes over all its items."""

    name: str  #: the family's folder name, e.g. "normalization"
    title: str  #: what it grades, e.g. "CS231n's batch, layer and group normalization layers"
    items: tuple[str, ...]  #: its items the class was graded on
    graded: int  #: submissions graded on at least one of them
    mistakes: tuple[Mistake, ...]  #: most common first; each submission at most once


@dataclass(frozen=True)
class SubmissionRow:
    """One submission's line: its total and each item's score (None: not graded on it)."""

    submission: str
    score: float
    max_score: float
    percent: float
    item_scores: tuple[float | None, ...]  #: in the order of ``ClassSummary.items``
    load_error: str = ""


@dataclass(frozen=True)
class ClassSummary:
    """A class: each submission's row, each item across submissions, the score histogram."""

    submissions: tuple[SubmissionRow, ...]
    items: tuple[ItemSummary, ...]
    bins: tuple[int, ...]  #: submissions per 10% of score, 0-10% first
    rubrics: tuple[str, ...]  #: the rubrics used, first seen first (one, normally)
    #: The families whose items show a recognised mistake, in registry order.
    families: tuple[FamilySummary, ...] = ()

    @property
    def count(self) -> int:
        return len(self.submissions)

    @property
    def mean_percent(self) -> float:
        return statistics.fmean(r.percent for r in self.submissions) if self.submissions else 0.0

    @property
    def median_percent(self) -> float:
        return statistics.median(r.percent for r in self.submissions) if self.submissions else 0.0


# --- the summary ---------------------------------------------------------------------------


def summarize(results: Sequence[SubmissionResult], *,
              names: Sequence[str] | None = None) -> ClassSummary:
    """The class summary of ``results``, in their order; items in order of first appearance.

    ``names`` labels each result (default: its ``submission``, a file or folder name, which two
    students' ``solution.py`` share; ``bpverify grade --out`` passes its results folders).
    """
    if names is not None and len(names) != len(results):
        raise ValueError(f"names has {len(names)} labels for {len(results)} results; expected "
                         "one per result")
    labelled = list(zip(names or [r.submission for r in results], results))
    order: dict[str, str] = {}  # item name -> category, first seen first
    for r in results:
        for i in r.items:
            order.setdefault(i.name, i.category)
    rows = tuple(_row(label, r, list(order)) for label, r in labelled)
    bins = [0] * BINS
    for row in rows:
        bins[min(int(row.percent // (100 / BINS)), BINS - 1)] += 1
    return ClassSummary(
        submissions=rows,
        items=tuple(_item_summary(name, cat, labelled) for name, cat in order.items()),
        bins=tuple(bins),
        rubrics=tuple(dict.fromkeys(r.rubric for r in results)),
        families=_families(order, labelled),
    )


def _tags(item: ItemResult) -> dict[str, str]:
    """A failed item's diagnosis tags, each once, with the value its first diagnosis named."""
    tags: dict[str, str] = {}
    if item.status == "failed":
        for check in item.checks:
            found = check.diagnosis  # stored by the engine when the item was graded
            if found is not None and found.mistake not in tags:
                tags[found.mistake] = found.subject
    return tags


def _families(order: dict[str, str],
              labelled: list[tuple[str, SubmissionResult]]) -> tuple[FamilySummary, ...]:
    """Each family's mistakes over all its items; families without any are left out."""
    by_family: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for name, category in order.items():
        record = family_of(category)
        if record is not None:
            by_family.setdefault(record.name, []).append(name)
            titles[record.name] = record.title
    out = []
    for family, names in by_family.items():
        who: dict[str, list[str]] = {}
        whats: dict[str, list[str]] = {}
        graded = 0
        for label, result in labelled:
            items = [i for i in result.items if i.name in names and not i.absent]
            graded += bool(items)
            seen: dict[str, str] = {}
            for item in items:
                for tag, what in _tags(item).items():
                    seen.setdefault(tag, what)
                    if what and what not in whats.setdefault(tag, []):
                        whats[tag].append(what)
            for tag in seen:
                who.setdefault(tag, []).append(label)
        if not who:
            continue
        mistakes = sorted(
            (Mistake(tag, phrase(tag, whats.get(tag, [])), len(subs), len(subs) / graded,
                     tuple(subs)) for tag, subs in who.items()),
            key=lambda m: (-m.count, m.tag))
        out.append(FamilySummary(family, titles[family], tuple(names), graded,
                                 tuple(mistakes)))
    return tuple(out)


def _percent(result: SubmissionResult) -> float:
    # As `grade --fail-under` counts it: a rubric worth nothing is fully earned.
    return 100 * result.score / result.max_score if result.max_score else 100.0


def _row(label: str, result: SubmissionResult, names: list[str]) -> SubmissionRow:
    scores = {i.name: i.score for i in result.items if not i.absent}
    return SubmissionRow(
        submission=label,
        score=result.score,
        max_score=result.max_score,
        percent=round(_percent(result), 6),
        item_scores=tuple(scores.get(n) for n in names),
        load_error=result.load_error,
    )


def _item_summary(name: str, category: str,
                  labelled: list[tuple[str, SubmissionResult]]) -> ItemSummary:
    # An optional item a submission does not define was not graded on it.
    graded = [(label, r.item(name)) for label, r in labelled
              if any(i.name == name and not i.absent for i in r.items)]
    who: dict[str, list[str]] = {}  # tag -> submissions, each once
    whats: dict[str, list[str]] = {}  # tag -> the values its diagnoses named
    unexplained = []
    for submission, item in graded:
        if item.status != "failed":
            continue
        tags = _tags(item)  # this submission's tags on this item -> what they named
        if not tags:
            unexplained.append(submission)
        for tag, what in tags.items():
            who.setdefault(tag, []).append(submission)
            if what and what not in whats.setdefault(tag, []):
                whats[tag].append(what)
    n = len(graded)
    mistakes = sorted(
        (Mistake(tag, phrase(tag, whats.get(tag, [])), len(subs), len(subs) / n, tuple(subs))
         for tag, subs in who.items()),
        key=lambda m: (-m.count, m.tag),
    )
    items = [i for _, i in graded]
    return ItemSummary(
        name=name,
        category=category,
        graded=n,
        passed=sum(i.status == "passed" for i in items),
        failed=sum(i.status == "failed" for i in items),
        not_implemented=sum(i.status == "not implemented" for i in items),
        max_score=max((i.max_score for i in items), default=0.0),
        mean_score=round(statistics.fmean(i.score for i in items), 6) if items else 0.0,
        mistakes=tuple(mistakes),
        unexplained=tuple(unexplained),
    )


def _pct(share: float) -> str:
    return f"{share:.0%}"


def _num(x: float) -> str:
    return f"{x + 0.0:.6g}"


# --- formats -------------------------------------------------------------------------------


def to_csv(summary: ClassSummary) -> str:
    """One row per submission: submission, score, max_score, percent, then each item's score.

    Item columns follow ``summary.items``; an item a submission was not graded on is empty.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", "percent",
                     *(i.name for i in summary.items)])
    for row in summary.submissions:
        writer.writerow([row.submission, _num(row.score), _num(row.max_score),
                         f"{row.percent:.1f}",
                         *("" if s is None else _num(s) for s in row.item_scores)])
    return buf.getvalue()


def to_summary_html(summary: ClassSummary) -> str:
    """The class summary as one self-contained page: inline CSS and SVG, no network."""
    from bpverify.output.html import environment  # the reports': autoescape, same filters

    items = [
        {
            "name": i.name,
            "category": i.category,
            "graded": i.graded,
            "passed": _pct(i.share(i.passed)),
            "failed": _pct(i.share(i.failed)),
            "not_implemented": _pct(i.share(i.not_implemented)),
            "passed_width": f"{100 * i.share(i.passed):.1f}",
            "mean": f"{i.mean_score:.3g}/{i.max_score:g}",
            "mistakes": i.mistakes,
            "unexplained": i.unexplained,
            "unexplained_share": _pct(i.share(len(i.unexplained))),
        }
        for i in summary.items
    ]
    return environment().get_template("summary.html.j2").render(
        summary=summary,
        mean=f"{summary.mean_percent:.1f}",
        median=f"{summary.median_percent:.1f}",
        histogram=_histogram(summary.bins),
        items=items,
        families=summary.families,
        load_errors=[r for r in summary.submissions if r.load_error],
        rows=[(r, [("–" if s is None else _num(s)) for s in r.item_scores])
              for r in summary.submissions],
    )


# Histogram geometry, in SVG user units.
_BAR_W, _GAP, _PLOT_H, _LEFT, _TOP = 50, 8, 150, 12, 22


def _histogram(bins: tuple[int, ...]) -> dict[str, Any]:
    top = max(bins, default=0) or 1
    bars = []
    for k, count in enumerate(bins):
        h = _PLOT_H * count / top
        x = _LEFT + k * (_BAR_W + _GAP)
        lo, hi = k * 100 // len(bins), (k + 1) * 100 // len(bins)
        bars.append({
            "x": x, "y": f"{_TOP + _PLOT_H - h:.1f}", "w": _BAR_W, "h": f"{h:.1f}",
            "count": count, "cx": x + _BAR_W / 2,
            "label": f"{lo}–{hi}%",
            "title": f"{count} submission{'s' if count != 1 else ''} scored "
                     + (f"{lo}% to {hi}%" if hi == 100 else f"{lo}% to under {hi}%"),
        })
    return {
        "bars": bars,
        "width": 2 * _LEFT + len(bins) * (_BAR_W + _GAP) - _GAP,
        "height": _TOP + _PLOT_H + 26,
        "base": _TOP + _PLOT_H,
    }


def render_summary(summary: ClassSummary, console: Console) -> None:
    """The short terminal version: distribution, then one line per item."""
    from rich.table import Table
    from rich.text import Text

    blocks = " ▁▂▃▄▅▆▇█"
    top = max(summary.bins, default=0) or 1
    spark = "".join(blocks[0 if not c else max(1, round(8 * c / top))] for c in summary.bins)
    console.print(Text(f"\nclass summary: {summary.count} submission"
                       f"{'s' if summary.count != 1 else ''} · mean {summary.mean_percent:.1f}% "
                       f"· median {summary.median_percent:.1f}% · rubric "
                       f"{', '.join(summary.rubrics)}", style="bold"))
    console.print(f"scores 0% {spark} 100%   "
                  f"({' '.join(str(c) for c in summary.bins)} per 10%)")
    if len(summary.rubrics) > 1:
        console.print(Text("these results were graded by different rubrics; their scores "
                           "are not comparable", style="yellow"))
    failed_imports = sum(bool(r.load_error) for r in summary.submissions)
    if failed_imports:
        console.print(Text(f"{failed_imports} submission(s) did not import cleanly",
                           style="yellow"))
    table = Table(title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("item")
    table.add_column("passed", justify="right")
    table.add_column("not impl.", justify="right")
    table.add_column("most common mistakes", overflow="fold", max_width=80)
    for i in summary.items:
        top_mistakes = [m.text for m in i.mistakes[:TERMINAL_MISTAKES]]
        if len(i.mistakes) > TERMINAL_MISTAKES:
            top_mistakes.append(f"{len(i.mistakes) - TERMINAL_MISTAKES} more in summary.html")
        table.add_row(i.name, _pct(i.share(i.passed)), _pct(i.share(i.not_implemented)),
                      "; ".join(top_mistakes) or ("" if not i.failed else
                                                  f"{_pct(i.share(i.failed))} failed"))
    console.print(table)
    for f in summary.families:
        if len(f.items) > 1:  # one item's family says what its row says
            shown = [m.text for m in f.mistakes[:TERMINAL_MISTAKES]]
            more = len(f.mistakes) - len(shown)
            console.print(f"{f.name}: " + "; ".join(shown)
                          + (f"; {more} more in summary.html" if more else ""))


# --- files ---------------------------------------------------------------------------------


def write_summary(summary: ClassSummary, folder: str | Path) -> tuple[Path, Path]:
    """Write ``folder/summary.csv`` and ``folder/summary.html``; return both paths."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "summary.csv", out / "summary.html"
    csv_path.write_text(to_csv(summary), encoding="utf-8")
    html_path.write_text(to_summary_html(summary), encoding="utf-8")
    return csv_path, html_path


_EXPECTED = ("expected the bpverify.json that `bpverify grade --out DIR` (or --json FILE) "
             "writes")


def read_result(path: str | Path) -> SubmissionResult:
    """A result written by ``bpverify grade``; :class:`ResultFileError` names what is wrong."""
    p = Path(path)
    if p.is_dir():
        raise ResultFileError(f"{p} is a folder; {_EXPECTED}, e.g. {p}/*/bpverify.json")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultFileError(f"{p}: no such file; {_EXPECTED}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(f"{p}: cannot be read ({exc}); {_EXPECTED}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{p}: not JSON ({exc}); {_EXPECTED}") from None
    if isinstance(data, dict) and "tests" in data and "items" not in data:
        raise ResultFileError(f"{p} is Gradescope's results.json, not a bpverify result; "
                              f"{_EXPECTED} next to it")
    try:
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}")
        return SubmissionResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"no {exc} key" if isinstance(exc, KeyError) else str(exc)
        raise ResultFileError(f"{p}: not a bpverify result ({what}); {_EXPECTED}") from None
