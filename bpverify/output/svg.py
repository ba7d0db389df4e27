"""Draw a circuit the way the lecture does: gates left to right, each wire labelled with its
forward value (green, above) and its gradient (red, below).

The layout is layered and computed here, no graphviz: a gate's column is one more than the
deepest gate feeding it, and its height is the mean of its inputs' heights (so a chain stays on
one line and a gate sits between the wires it joins), pushed apart where two would overlap.
Every piece of text is escaped; the returned string is a complete ``<svg>`` element with its own
style, safe to inline in any page.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from bpverify.closeness import close
from bpverify.feedback.words import num
from bpverify.model import GateStep

__all__ = ["circuit_svg", "num"]

COL_W = 150  #: distance between gate columns
ROW_H = 70  #: distance between input wires
MIN_GAP = 84  #: smallest vertical distance between two gates of one column
R = 22  #: gate radius
LEFT = 56  #: room for the input names
TOP = 40
PORT_ANGLE = math.radians(38)  #: where the two wires of a two-input gate meet its circle

_STYLE = """
.bp-circuit text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",
monospace;font-size:13px}
.bp-circuit .wire{fill:none;stroke:#555;stroke-width:1.6}
.bp-circuit .val{fill:#1a7f37;font-weight:600}
.bp-circuit .grad{fill:#cf222e;font-weight:600}
.bp-circuit .should{font-size:11px;font-style:italic;font-weight:400}
.bp-circuit .wn{fill:#6e7781;font-weight:400;font-style:italic}
.bp-circuit .name{fill:#24292f;font-weight:700;font-size:14px}
.bp-circuit .gate circle{fill:#fff;stroke:#24292f;stroke-width:1.8}
.bp-circuit .gate .op{font-size:14px;font-weight:700;fill:#24292f}
.bp-circuit .gate .cls{font-size:10.5px;fill:#6e7781}
.bp-circuit .gate.guilty circle{fill:#ffebe9;stroke:#cf222e;stroke-width:3.5}
.bp-circuit .gate.guilty .cls{fill:#cf222e;font-weight:700}
.bp-circuit .gate.faulty circle{fill:#ffebe9;stroke:#cf222e;stroke-width:2}
.bp-circuit .gate.faulty .cls{fill:#cf222e}
.bp-circuit .gate.affected circle{fill:#fff8c5;stroke:#bf8700;stroke-width:2;stroke-dasharray:5 3}
.bp-circuit .gate.affected .cls{fill:#9a6700}
.bp-circuit .callout rect{fill:#fff;stroke:#cf222e;stroke-width:1.5}
.bp-circuit .callout text{font-size:12px;fill:#24292f}
.bp-circuit .callout .head{font-weight:700;fill:#cf222e}
.bp-circuit .callout .exp{fill:#1a7f37}
.bp-circuit .callout .got{fill:#cf222e}
.bp-circuit .leader{stroke:#cf222e;stroke-width:1.2;stroke-dasharray:4 3;fill:none}
"""


def _precise(v: Any) -> str:
    try:
        return f"{float(v) + 0.0:.4g}"
    except (TypeError, ValueError):
        return "?"


@dataclass
class _Pos:
    x: float
    y: float


def _t(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">'
            f"{escape(text)}</text>")


def _layout(trace: Sequence[GateStep], inputs: Sequence[str]) -> tuple[
    dict[str, _Pos], list[_Pos], dict[str, int]
]:
    src: dict[str, _Pos] = {name: _Pos(LEFT + 6, TOP + k * ROW_H) for k, name in enumerate(inputs)}
    producer: dict[str, int] = {}
    col: dict[int, int] = {}
    for i, s in enumerate(trace):  # only earlier gates feed a gate: a trace is in forward order
        col[i] = 1 + max((col[producer[w]] for w in s.inputs if w in producer), default=0)
        producer[s.output] = i
    src_col = dict.fromkeys(inputs, 0)
    reach: dict[str, int] = {}  # each wire's farthest consumer column
    for i, s in enumerate(trace):
        for w in s.inputs:
            reach[w] = max(reach.get(w, 0), col[i])
    centres: list[_Pos] = [_Pos(0, 0) for _ in trace]
    for c in sorted(set(col.values())):
        members = [i for i in col if col[i] == c]
        # wires that run straight across this column to a later one: no gate may sit on them
        through = [src[w].y for w in src if src_col[w] < c < reach.get(w, 0)]
        placed: list[float] = []
        for i in sorted(members, key=lambda i: _mean_y(trace[i], src)):
            centres[i] = _Pos(LEFT + c * COL_W, _free_y(_mean_y(trace[i], src), through, placed))
            placed.append(centres[i].y)
            src[trace[i].output] = _Pos(centres[i].x + R, centres[i].y)
            src_col[trace[i].output] = c
    uses: dict[str, int] = {}
    for s in trace:
        for w in s.inputs:
            uses[w] = uses.get(w, 0) + 1
    return src, centres, uses


def _mean_y(step: GateStep, src: Mapping[str, _Pos]) -> float:
    ys = [src[w].y for w in step.inputs if w in src]
    return sum(ys) / len(ys) if ys else TOP


def _free_y(want: float, through: Sequence[float], placed: Sequence[float]) -> float:
    """The height nearest ``want`` clear of wires passing by and of gates already placed."""
    step = ROW_H / 2
    for k in range(200):
        for y in ((want,) if k == 0 else (want + k * step, want - k * step)):
            if (y >= TOP and all(abs(y - t) >= R + 10 for t in through)
                    and all(abs(y - p) >= MIN_GAP for p in placed)):
                return y
    return max([want, *placed]) + MIN_GAP


def _port(centre: _Pos, k: int, n: int) -> _Pos:
    if n == 1:
        return _Pos(centre.x - R, centre.y)
    dy = R * math.sin(PORT_ANGLE) * (-1 if k == 0 else 1)
    return _Pos(centre.x - R * math.cos(PORT_ANGLE), centre.y + dy)


def _path(a: _Pos, b: _Pos) -> str:
    if abs(a.y - b.y) < 0.5:
        return f"M{a.x:.1f},{a.y:.1f} H{b.x:.1f}"
    # Bend late: the wire's labels sit on its straight start.
    bend = max(a.x + 10, b.x - 46)
    mid = bend + (b.x - bend) / 2
    return (f"M{a.x:.1f},{a.y:.1f} H{bend:.1f} "
            f"C{mid:.1f},{a.y:.1f} {mid:.1f},{b.y:.1f} {b.x:.1f},{b.y:.1f}")


def _wire_grads(trace: Sequence[GateStep]) -> dict[str, float | None]:
    """Each wire's gradient as the submission's gates produced it (fan-out added up)."""
    grads: dict[str, float | None] = {}
    for s in trace:
        grads[s.output] = None if s.upstream is None else float(s.upstream)
    for s in trace:
        for k, w in enumerate(s.inputs):
            if w in grads and any(t.output == w for t in trace):
                continue  # an inner wire's gradient is the upstream its producer received
            if len(s.grads) != len(s.inputs):
                grads[w] = None
                continue
            prev = grads.get(w, 0.0)
            grads[w] = None if prev is None else prev + float(s.grads[k])
    return grads


def circuit_svg(
    trace: Sequence[GateStep],
    *,
    inputs: Sequence[str] | None = None,
    fault: Any = None,
    constants: Mapping[str, float] | None = None,
    output_name: str | None = None,
    label: str = "circuit",
) -> str:
    """The circuit of ``trace`` as an ``<svg>`` element.

    ``fault`` (a :class:`bpverify.feedback.faults.Fault`) marks the guilty gate, other faulty
    gates and the affected ones, adds a callout with the guilty gate's numbers, and notes under
    each wrong gradient what it should be.  ``constants`` are wires drawn as plain numbers
    (``max(x, 0)``).
    """
    trace = tuple(trace)
    consts = dict(constants or {})
    produced = {s.output for s in trace}
    leaves = list(dict.fromkeys(w for s in trace for w in s.inputs if w not in produced))
    given = [w for w in (inputs if inputs is not None else leaves) if w not in produced]
    inputs = given + [w for w in leaves if w not in given]  # constants such as max(x, 0)
    src, centres, _ = _layout(trace, inputs)
    wire_vals: dict[str, Any] = {}
    for s in trace:
        for w, v in zip(s.inputs, s.input_values):
            wire_vals.setdefault(w, v)
        wire_vals[s.output] = s.output_value
    grads = _wire_grads(trace)
    true = getattr(fault, "true_grads", {}) or {}
    marks: dict[int, str] = {}
    if fault is not None:
        marks.update({i: "affected" for i in fault.affected})
        marks.update({i: "faulty" for i in fault.faulty})
        marks[fault.index] = "guilty"

    parts: list[str] = []
    labels: list[str] = []
    # wires, with their labels at the start of each wire
    last = trace[-1]
    out_x = centres[-1].x + R + COL_W * 0.62
    for i, s in enumerate(trace):
        for k, w in enumerate(s.inputs):
            port = _port(centres[i], k, len(s.inputs))
            parts.append(f'<path class="wire" d="{_path(src[w], port)}"/>')
    parts.append(f'<path class="wire" d="M{src[last.output].x:.1f},{src[last.output].y:.1f} '
                 f'H{out_x:.1f}" marker-end="url(#bp-arrow)"/>')
    for w, p in src.items():
        if w not in wire_vals:
            continue
        x, y = p.x + 8, p.y
        is_input = w not in produced
        if is_input:
            text = num(consts[w]) if w in consts else w
            labels.append(_t(p.x - 8, y + 5, text, "name", "end"))
            val_text = f'<tspan>{escape(num(wire_vals[w]))}</tspan>'
        else:
            val_text = (f'<tspan class="wn">{escape(w)} </tspan>'
                        f'<tspan>{escape(num(wire_vals[w]))}</tspan>')
        labels.append(f'<text x="{x:.1f}" y="{y - 7:.1f}" class="val">{val_text}</text>')
        producer = next((s for s in trace if s.output == w), None)
        if (fault is not None and fault.direction == "forward" and producer is not None
                and trace.index(producer) == fault.index):
            labels.append(_t(x, y - 22, f"should be {num(producer.expected_output)}",
                             "val should"))
        g = grads.get(w)
        if w in consts:
            continue
        labels.append(_t(x, y + 17, num(g) if g is not None else "?", "grad"))
        if fault is not None and w in true and (g is None or not close(g, true[w], "float64")):
            labels.append(_t(x, y + 30, f"should be {num(true[w])}", "grad should"))
    oy = src[last.output].y
    labels.append(_t(out_x + 6, oy + 5, output_name or last.output, "name"))

    # gates
    for i, (s, c) in enumerate(zip(trace, centres)):
        mark = marks.get(i, "")
        tag = {"guilty": "guilty", "faulty": "also wrong",
               "affected": "affected"}.get(mark, "")
        tip = (f"{s.gate} ({s.label}): inputs {', '.join(map(num, s.input_values))} → "
               f"{num(s.output_value)}; local gradients {', '.join(map(num, s.local_grads))}")
        parts.append(
            f'<g class="gate {mark}" data-gate="{escape(s.gate)}" data-step="{i}">'
            f"<title>{escape(tip)}</title>"
            f'<circle cx="{c.x:.1f}" cy="{c.y:.1f}" r="{R}"/>'
            + _t(c.x, c.y + 5, s.label, "op", "middle")
            + (_t(c.x, c.y - R - 7, tag, "cls", "middle") if tag else "")
            + "</g>"
        )
    width = out_x + 40
    height = max(max(p.y for p in src.values()), max(c.y for c in centres)) + R + 40
    if fault is not None:
        box, w_box, h_box = _callout(trace, fault, centres, height, width)
        parts.append(box)
        width = max(width, w_box)
        height = h_box
    body = "".join(parts) + "".join(labels)
    # The arrowhead's id is unique to the drawing: a page (or a notebook) holds many drawings,
    # and a url(#id) shared with one inside a collapsed <details> loses its arrowheads.
    arrow = "bp-arrow-" + hashlib.sha1(body.encode()).hexdigest()[:12]
    body = body.replace("url(#bp-arrow)", f"url(#{arrow})")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bp-circuit" role="img" '
        f'aria-label="{escape(label)}" width="{width:.0f}" height="{height:.0f}" '
        'style="max-width:100%;height:auto" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">'
        f"<style>{_STYLE}</style>"
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        "</defs>"
        f"{body}</svg>"
    )


def _callout(trace: Sequence[GateStep], fault: Any, centres: Sequence[_Pos], top: float,
             width: float) -> tuple[str, float, float]:
    s = trace[fault.index]
    c = centres[fault.index]
    names = ", ".join(s.inputs)
    ins = ", ".join(f"{w} = {_precise(v)}" for w, v in zip(s.inputs, s.input_values))
    if fault.direction == "backward":
        d = [f"d{w}" for w in s.inputs]
        # right numbers, wrong engine node: it ran before its gradient was complete, or it
        # overwrote a gradient that fans out instead of adding to it
        replaced = len(s.grads) == len(s.expected_grads) > 0 and all(
            close(g, e, "float64") for g, e in zip(s.grads, s.expected_grads))
        full = (getattr(fault, "true_grads", {}) or {}).get(s.output)
        early = replaced and full is not None and not close(s.upstream, full, "float64")
        what = ("passed its gradient back before it was complete (the full gradient is "
                f"{_precise(full)})" if early else
                "replaced its inputs' gradients (=) instead of adding to them (+=)" if replaced
                else "returned the wrong gradient")
        lines = [
            ("head", f"{s.gate} (the {s.label} gate → {s.output}) {what}"),
            ("", f"inputs {ins} · upstream gradient {_precise(s.upstream)}"),
            ("", "local gradients " + ", ".join(
                f"∂{s.output}/∂{w} = {_precise(v)}" for w, v in zip(s.inputs, s.local_grads))),
            ("exp", "expected (local × upstream): " + ", ".join(
                f"{n} = {_precise(v)}" for n, v in zip(d, s.expected_grads))),
            ("got", "got: " + (", ".join(f"{n} = {_precise(v)}" for n, v in zip(d, s.grads))
                              if s.grads else "no usable gradient")),
        ]
    else:
        lines = [
            ("head", f"{s.gate} (the {s.label} gate → {s.output}) computed the wrong value"),
            ("", f"inputs ({names}) = ({', '.join(_precise(v) for v in s.input_values)})"),
            ("exp", f"expected {s.output} = {_precise(s.expected_output)}"),
            ("got", f"got {s.output} = {_precise(s.output_value)}"),
        ]
    if fault.affected:
        lines.append(("", f"{len(fault.affected)} gate(s) marked affected only received "
                          "its wrong value"))
    line_h = 17
    w_box = max(len(t) for _, t in lines) * 7.3 + 24
    h_box = len(lines) * line_h + 14
    x = min(max(8.0, c.x - w_box / 2), max(8.0, width - w_box - 8))
    y = top + 14
    rows = "".join(
        _t(x + 12, y + 19 + k * line_h, text, cls) for k, (cls, text) in enumerate(lines)
    )
    leader = (f'<path class="leader" d="M{c.x:.1f},{c.y + R + 3:.1f} '
              f'V{y:.1f}"/>')
    svg = (f'{leader}<g class="callout" data-gate="{escape(s.gate)}">'
           f'<rect x="{x:.1f}" y="{y:.1f}" width="{w_box:.1f}" height="{h_box:.1f}" rx="6"/>'
           f"{rows}</g>")
    return svg, x + w_box + 8, y + h_box + 10
