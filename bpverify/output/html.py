"""The HTML report: one self-contained page, a pure function of the result model.

``to_html(result)`` renders a :class:`SubmissionResult` with Jinja2 (autoescape on: everything
that came from a submission, its messages, names and values, is escaped), inline CSS and inline
SVG circuit diagrams.  The page loads nothing from the network.  ``walks_to_html`` renders the
lecture's and ``bpverify explain``'s walkthroughs with the same diagrams.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpverify.contract import CIRCUITS
from bpverify.feedback.faults import locate_fault
from bpverify.feedback.words import ARRAY_THRESHOLD, compact, example_code
from bpverify.model import CheckResult, ElementMismatch, ItemResult, SubmissionResult
from bpverify.output.figures import figure_svg
from bpverify.output.svg import circuit_svg, num
from bpverify.registry import figure_maker
from bpverify.teaching.numerical import numerical_figure

if TYPE_CHECKING:
    import jinja2

    from bpverify.teaching.lecture import Walk

__all__ = [
    "environment",
    "to_html",
    "to_html_fragment",
    "walks_to_html",
    "write_html",
    "write_page",
]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Arrays with more elements than this are shown by their corners ("compact for big arrays").
COMPACT_THRESHOLD = ARRAY_THRESHOLD
_MARKS = {"passed": "✓", "failed": "✗", "skipped": "–", "not implemented": "○"}


@cache
def _env() -> jinja2.Environment:
    import jinja2  # only reports need it

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = num
    return env


def environment() -> jinja2.Environment:
    """The reports' Jinja2 environment (autoescape on, the ``num`` filter), for every page."""
    return _env()


def _markup(svg: str) -> Any:
    """svg.py escapes every text it draws, so its output may be inserted as is."""
    from markupsafe import Markup

    return Markup(svg)


def _slug(name: str) -> str:
    return "item-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _flatten(values: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Named leaves of an example: dicts by key, a pair of cases (two instances) by position."""
    if values is None:
        return []
    if isinstance(values, Mapping):
        out: list[tuple[str, Any]] = []
        for k, v in values.items():
            if k == "values" and not prefix and isinstance(v, Mapping):
                out += _flatten(v)  # a circuit's inputs: w0, not values.w0
            elif isinstance(v, Mapping) or (isinstance(v, list) and v
                                          and all(isinstance(e, Mapping) for e in v)):
                out += _flatten(v, f"{prefix}{k}.")
            else:
                out.append((f"{prefix}{k}", v))
        return out
    if isinstance(values, (list, tuple)) and values and all(isinstance(v, Mapping)
                                                            for v in values):
        names = ("first", "second") if len(values) == 2 else tuple(map(str, range(len(values))))
        return [leaf for n, v in zip(names, values) for leaf in _flatten(v, f"{prefix}{n}.")]
    return [(prefix.rstrip(".") or "value", values)]


def _where(m: ElementMismatch) -> str:
    return f"{m.value}[{', '.join(map(str, m.index))}]" if m.index else m.value


def _check_view(item: ItemResult, check: CheckResult) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": check.name,
        "status": check.status,
        "mark": _MARKS.get(check.status, "?"),
        "kind": check.kind,
        "message": check.message,
        "examples_run": check.examples_run,
        "seed": check.seed,
        "example": [(k, compact(v)) for k, v in _flatten(check.example)],
        "example_code": example_code(check.example),  # an engine's: shown as code
        "example_inline": False,
        "compare": [],
        "mismatches": [
            {"where": _where(m), "expected": f"{m.expected + 0.0:.6g}",
             "got": f"{m.got + 0.0:.6g}",
             "abs": f"{m.abs_error:.3g}", "rel": f"{m.rel_error:.3g}"}
            for m in check.mismatches
        ],
        "mismatch_count": check.mismatch_count or len(check.mismatches),
        "diagnosis": None,
        "svg": None,
        "blame": "",
        "figure": _figure(item, check),
    }
    view["example_inline"] = all("\n" not in t and len(t) < 40 for _, t in view["example"])
    exp, got = dict(_flatten(check.expected)), dict(_flatten(check.got))
    differs = {m.value for m in check.mismatches}
    view["compare"] = [
        (k, compact(exp[k]) if k in exp else "–", compact(got[k]) if k in got else "–",
         k in differs or not differs)
        for k in dict.fromkeys([*exp, *got])
    ]
    if check.status == "failed" and check.diagnosis is not None:
        view["diagnosis"] = check.diagnosis.text  # stored by the engine, never recomputed
    if check.trace:
        fault = locate_fault(check.trace) if check.status == "failed" else None
        spec = CIRCUITS.get(item.name)
        view["svg"] = _markup(circuit_svg(
            check.trace, inputs=spec.inputs if spec else None, fault=fault,
            label=f"{item.name}, {check.name}",
        ))
        if fault is not None:
            s = check.trace[fault.index]
            what = "gradient" if fault.direction == "backward" else "value"
            view["blame"] = (
                f"Guilty: {s.gate}, the {s.label} gate computing {s.output}, is the first gate "
                f"whose {what} disagrees with the oracle given the same "
                + ("inputs and upstream gradient." if what == "gradient" else "inputs.")
                + (f" {len(fault.affected)} gate(s) after it only received its wrong "
                   f"{'gradient' if what == 'gradient' else 'value'} (marked affected)."
                   if fault.affected else "")
            )
    return view


def _figure(item: ItemResult, check: CheckResult) -> dict[str, Any] | None:
    """The family's teaching drawing of a failed check (its ``explain`` role), or None.

    A circuit's trace is drawn gate by gate instead; where the family draws nothing, a failed
    gradient check is drawn as the lecture's numerical against analytic gradient
    (:mod:`bpverify.teaching.numerical`); a check whose values make no drawing has none.
    """
    if check.status != "failed" or check.trace:
        return None
    make = figure_maker(item.category)
    try:
        fig = make(item, check) if make is not None else None
        if fig is None:  # a gradient check is drawn the same way in every family
            fig = numerical_figure(check)
    except (ValueError, TypeError, IndexError, KeyError, ArithmeticError):
        # values of a shape the drawing does not know (a report is never lost to a drawing):
        # the tests draw every diagnosed zoo mistake, so a drawing that breaks shows there
        return None
    if fig is None:
        return None
    return {"svg": _markup(figure_svg(fig)), "title": fig.title, "words": fig.describe(),
            "ringed": fig.ringed}


def _item_view(item: ItemResult) -> dict[str, Any]:
    checks = [_check_view(item, c) for c in item.checks]
    judged = [c for c in item.checks if c.status != "skipped"]
    label = ("missing" if item.required else "optional") if item.missing or item.absent \
        else item.status
    return {
        "name": item.name,
        "slug": _slug(item.name),
        "category": item.category,
        "status": item.status,
        "label": label,  # "missing", or "optional" for one not graded: nothing to fix
        "css": "optional" if item.absent else item.status.replace(" ", "-"),
        "mark": "·" if item.absent else _MARKS.get(item.status, "?"),
        "message": item.message,
        "checks": checks,
        "score": f"{sum(c.passed for c in judged)}/{len(judged)}" if item.checks else "–",
        "open": item.status == "failed" or any(c["svg"] is not None for c in checks),
        "figures": any(c["figure"] is not None for c in checks),
    }


def _tally(result: SubmissionResult) -> dict[str, Any]:
    """The header's counts: passed of graded, failures to fix apart from missing items."""
    graded = result.graded_items
    to_fix, missing = len(result.failed_items), len(result.missing_items)
    verdict = " · ".join(x for x in (f"{to_fix} to fix" if to_fix else "",
                                     f"{missing} missing" if missing else "") if x)
    return {"passed": sum(i.passed for i in graded), "total": len(graded),
            "verdict": verdict or "all passed", "ok": not verdict,
            "absent": result.absent_items}


def to_html(result: SubmissionResult) -> str:
    """The whole report as one HTML page (no network, inline CSS and SVG)."""
    items = [_item_view(i) for i in result.items]
    return _env().get_template("report.html.j2").render(
        result=result,
        items=items,
        **_tally(result),
        has_circuits=any(c["svg"] is not None for i in items for c in i["checks"]),
        has_figures=any(i["figures"] for i in items),
        reproduce=result.reproduce,
    )


def to_html_fragment(result: SubmissionResult) -> str:
    """The report as one ``<div>`` to show inline in a notebook cell (Jupyter, VS Code).

    Self-contained like the page: scoped CSS, inline SVG, no script, no ids; failing items
    open, passing ones collapsed.  ``result.reproduce`` is shown as the call to run again.
    """
    items = [_item_view(i) for i in result.items]
    return _env().get_template("notebook.html.j2").render(
        result=result,
        items=items,
        call=f"check({result.submission})",
        **_tally(result),
        has_circuits=any(c["svg"] is not None for i in items for c in i["checks"]),
        has_figures=any(i["figures"] for i in items),
        reproduce=result.reproduce,
    )


def walks_to_html(walks: Sequence[Walk], *, title: str,
                  notes: Sequence[tuple[str, Sequence[str]] | None] | None = None) -> str:
    """Walkthroughs (the lecture's, or an explained expression) as one page of diagrams.

    ``notes[k]``, when given, is a (heading, sentences) box shown after walk ``k``.
    """
    from bpverify.teaching.lecture import gate_sentence

    views = []
    for k, w in enumerate(walks):
        rows = [
            {
                "label": s.label, "gate": s.gate,
                "inputs": "\n".join(num(v) if n in w.constants else f"{n} = {num(v)}"
                                    for n, v in zip(s.inputs, s.input_values)),
                "output": f"{s.output} = {num(s.output_value)}",
                "local": "\n".join(f"∂{s.output}/∂{n} = {num(v)}"
                                   for n, v in zip(s.inputs, s.local_grads)
                                   if n not in w.constants),
                "upstream": num(s.upstream),
                "grads": "\n".join(f"d{w.output}/d{n} = {num(v)}"
                                   for n, v in zip(s.inputs, s.grads) if n not in w.constants),
                "why": gate_sentence(s, w.constants),
            }
            for s in reversed(w.steps)
        ]
        views.append({
            "title": w.title,
            "at": ", ".join(f"{n} = {num(w.values[n])}" for n in w.inputs),
            "svg": _markup(circuit_svg(w.steps, inputs=w.inputs, constants=w.constants,
                                       label=w.title)),
            "rows": rows,
            "result": [(n, num(w.grads[n])) for n in w.inputs],
            "output": w.output,
            "notes": notes[k] if notes and k < len(notes) else None,
        })
    return _env().get_template("walks.html.j2").render(title=title, walks=views)


def write_html(result: SubmissionResult, path: str | Path) -> Path:
    """Write ``to_html(result)`` to ``path`` (folders created); return the path."""
    return write_page(path, to_html(result))


def write_page(path: str | Path, html: str) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
