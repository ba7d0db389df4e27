"""Draw a teaching :class:`~bpverify.teaching.figures.Figure` as one inline ``<svg>``.

The lecture's conventions, as the circuit drawings (:mod:`bpverify.output.svg`) have them:
values in green above a wire, gradients in red below it, the guilty stage ringed in red, a
callout box with its numbers.  A wire whose gradient never came back is dashed red.  Parts
(graphs, grids, formulas) stand side by side.  Every text is escaped; the ``<svg>`` carries
its own style, a ``<title>`` and a ``<desc>`` (the figure's description), so it is safe to
inline and has a text alternative.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from bpverify.teaching.figures import Figure, Formula, Graph, Grid, Part, Stage

__all__ = ["figure_svg"]

CHAR_W = 7.6  #: an estimate of one monospace character's width at 12.5px
NODE_H = 32
ROW_H = 78
TOP = 46
LEFT = 14
GAP = 30  #: between parts
CELL_W, CELL_H = 46, 26

_STYLE = """
.bp-figure text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",
monospace;font-size:12.5px}
.bp-figure .wire{fill:none;stroke:#555;stroke-width:1.6}
.bp-figure .wire.lost{stroke:#cf222e;stroke-dasharray:6 4;stroke-width:2}
.bp-figure .val{fill:#1a7f37;font-weight:600}
.bp-figure .grad{fill:#cf222e;font-weight:600}
.bp-figure .should{font-size:11px;font-style:italic;font-weight:400}
.bp-figure .name{fill:#24292f;font-weight:700;font-size:13.5px}
.bp-figure .title{fill:#24292f;font-weight:700}
.bp-figure .node rect{fill:#fff;stroke:#24292f;stroke-width:1.6}
.bp-figure .node .op{font-weight:700;fill:#24292f}
.bp-figure .node.ring rect{fill:#ffebe9;stroke:#cf222e;stroke-width:3.5}
.bp-figure .leafring{fill:none;stroke:#cf222e;stroke-width:2.5}
.bp-figure .tag{fill:#cf222e;font-weight:700;font-size:11px}
.bp-figure .cell rect{fill:#fff;stroke:#d0d7de;stroke-width:1}
.bp-figure .cell.marked text{font-weight:800;text-decoration:underline}
.bp-figure .cell.ring rect{fill:#ffebe9;stroke:#cf222e;stroke-width:2.6}
.bp-figure .window{fill:none;stroke:#24292f;stroke-width:2}
.bp-figure .line.ring rect{fill:#ffebe9;stroke:#cf222e;stroke-width:2.4}
.bp-figure .line text.code{fill:#24292f}
.bp-figure .note{fill:#cf222e;font-style:italic}
.bp-figure .callout rect{fill:#fff;stroke:#cf222e;stroke-width:1.5}
.bp-figure .callout text{fill:#24292f}
.bp-figure .leader{stroke:#cf222e;stroke-width:1.2;stroke-dasharray:4 3;fill:none}
"""


def _w(text: str) -> float:
    return len(text) * CHAR_W


def _t(x: float, y: float, text: str, cls: str, anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">'
            f"{escape(text)}</text>")


@dataclass
class _Drawn:
    svg: str
    width: float
    height: float
    ring: tuple[float, float] | None = None  #: the ringed spot, for the callout's leader


# --- graphs ---------------------------------------------------------------------------------


def _node_w(s: Stage) -> float:
    return max(40.0, _w(s.label) + 20)


def _lines(text: str, prefix: str = "") -> list[str]:
    """A label as the lines it is drawn in: a vector [a, b, c] one element a line."""
    if not text:
        return []
    if text.startswith("[") and text.endswith("]") and ", " in text:
        parts = text[1:-1].split(", ")
        rows = [f"[{parts[0]}", *parts[1:-1], f"{parts[-1]}]"]
        return [prefix + rows[0], *(" " * (len(prefix) + 1) + r for r in rows[1:])]
    return [prefix + text]


def _below(s: Stage) -> list[tuple[str, str]]:
    """The red lines under a stage's output wire: its gradient, or yours and the right one."""
    if s.got and s.got != s.grad:
        return ([(t, "grad") for t in _lines(s.got, "got ")]
                + [(t, "grad should") for t in _lines(s.grad, "should be ")])
    return [(t, "grad") for t in _lines(s.grad)]


def _wire_label_w(s: Stage) -> float:
    texts = _lines(s.value) + [t for t, _ in _below(s)]
    return max([_w(t) for t in texts] or [0.0])


LINE_H = 13.5


def _graph(g: Graph, x0: float) -> _Drawn:
    col: dict[str, int] = {}
    for s in g.stages:
        col[s.key] = 0 if s.leaf else 1 + max(col[w] for w in s.inputs)
    ncols = max(col.values()) + 1
    above = max(len(_lines(s.value)) for s in g.stages) * LINE_H + 8
    below = max(len(_below(s)) for s in g.stages) * LINE_H + 8
    row_h = max(float(ROW_H), above + below + 10)
    top = TOP + above - 10
    # column x: room for the widest node and the widest wire label leaving the column
    lead = max([_w(s.label) for s in g.stages if s.leaf]
               + [_w(s.tag or "guilty") * 0.9 for s in g.stages if s.leaf and s.ring]
               or [0.0]) + 12
    xs = [x0 + lead]
    widths = []
    for c in range(ncols):
        members = [s for s in g.stages if col[s.key] == c]
        node = 0.0 if c == 0 else max(_node_w(s) for s in members)
        widths.append(node)
        label = max(_wire_label_w(s) for s in members)
        # a wire that changes lane bends after its labels, not through them
        turns = any(t.row is not None and s.row is not None and t.row != s.row
                    for s in members for t in g.stages if s.key in t.inputs)
        xs.append(xs[-1] + node + max(label + 22, 56) + (40 if turns else 0))
    ys: dict[str, float] = {}
    leaves = [s for s in g.stages if s.leaf]
    for k, s in enumerate(leaves):
        ys[s.key] = top + (k if s.row is None else s.row) * row_h
    for c in range(1, ncols):
        members = [s for s in g.stages if col[s.key] == c]
        placed = [ys.setdefault(s.key, top + s.row * row_h) for s in members
                  if s.row is not None]
        for s in sorted((s for s in members if s.row is None),
                        key=lambda s: sum(ys[w] for w in s.inputs) / len(s.inputs)):
            want = sum(ys[w] for w in s.inputs) / len(s.inputs)
            y, k = want, 0
            while any(abs(y - p) < row_h for p in placed):
                k += 1
                y = max(top, want + (k + 1) // 2 * row_h * (1 if k % 2 else -1))
            ys[s.key] = y
            placed.append(y)
    # a node's left and right edge; a leaf is a point after its name
    left = {s.key: xs[col[s.key]] for s in g.stages}
    right = {s.key: left[s.key] + (0 if s.leaf else widths[col[s.key]]) for s in g.stages}
    for s in g.stages:
        if not s.leaf:  # centre narrower nodes in their column
            left[s.key] += (widths[col[s.key]] - _node_w(s)) / 2
            right[s.key] = left[s.key] + _node_w(s)
    parts: list[str] = []
    labels: list[str] = []
    ring: tuple[float, float] | None = None
    for s in g.stages:
        for k, w in enumerate(s.inputs):
            n = len(s.inputs)
            dy = 0.0 if n == 1 else (k - (n - 1) / 2) * min(10.0, NODE_H / n)
            a, b = (right[w], ys[w]), (left[s.key], ys[s.key] + dy)
            lost = w in s.lost
            parts.append(f'<path class="{"wire lost" if lost else "wire"}" d="{_path(a, b)}"'
                         + (f' data-lost="{escape(w)}"' if lost else "") + "/>")
            if lost:
                labels.append(_t(b[0] - 14, b[1] - 5, "✗", "grad", "middle"))
    last = g.stages[-1]
    out_x = right[last.key] + max(_wire_label_w(last) + 22, 56)
    parts.append(f'<path class="wire" d="M{right[last.key]:.1f},{ys[last.key]:.1f} '
                 f'H{out_x:.1f}" marker-end="url(#bp-fig-arrow)"/>')
    if g.output:
        labels.append(_t(out_x + 6, ys[last.key] + 5, g.output, "name"))
    for s in g.stages:
        x, y = right[s.key] + 8, ys[s.key]
        if s.leaf:
            labels.append(_t(left[s.key] - 6, y + 5, s.label, "name", "end"))
        else:
            nw = right[s.key] - left[s.key]
            parts.append(f'<g class="{"node ring" if s.ring else "node"}" '
                         f'data-stage="{escape(s.key)}"><title>{escape(_stage_tip(s))}</title>'
                         f'<rect x="{left[s.key]:.1f}" y="{y - NODE_H / 2:.1f}" width="{nw:.1f}" '
                         f'height="{NODE_H}" rx="{NODE_H / 2 if nw < 60 else 8}"/>'
                         + _t(left[s.key] + nw / 2, y + 4.5, s.label, "op", "middle") + "</g>")
            if s.ring:
                labels.append(_t(left[s.key] + nw / 2, y - NODE_H / 2 - 6, s.tag or "guilty",
                                 "tag", "middle"))
                ring = ring or (left[s.key] + nw / 2, y + NODE_H / 2)
        vals = _lines(s.value)
        for k, t in enumerate(vals):
            labels.append(_t(x, y - 7 - (len(vals) - 1 - k) * LINE_H, t, "val"))
        for k, (t, cls) in enumerate(_below(s)):
            labels.append(_t(x, y + 17 + k * LINE_H, t, cls))
        if s.leaf and s.ring:
            lw = _w(s.label) + 12
            parts.append(f'<rect class="leafring" data-stage="{escape(s.key)}" '
                         f'x="{left[s.key] - lw - 2:.1f}" y="{y - 11:.1f}" width="{lw:.1f}" '
                         'height="22" rx="8"/>')
            labels.append(_t(left[s.key] - 6, y - 16, s.tag or "guilty", "tag", "end"))
            ring = ring or (left[s.key] - 20, y + 10)
    width = out_x + (_w(g.output) + 16 if g.output else 10) - x0
    height = max(ys.values()) + below + NODE_H / 2 + 14
    return _Drawn("".join(parts) + "".join(labels), width, height, ring)


def _stage_tip(s: Stage) -> str:
    bits = [f"{s.label}: {', '.join(s.inputs)} → {s.key}"]
    if s.value:
        bits.append(f"value {s.value}")
    if s.grad:
        bits.append(f"gradient {s.grad}")
    if s.got and s.got != s.grad:
        bits.append(f"yours {s.got}")
    return "; ".join(bits)


def _path(a: tuple[float, float], b: tuple[float, float]) -> str:
    if abs(a[1] - b[1]) < 0.5:
        return f"M{a[0]:.1f},{a[1]:.1f} H{b[0]:.1f}"
    bend = max(a[0] + 10, b[0] - 46)
    mid = bend + (b[0] - bend) / 2
    return (f"M{a[0]:.1f},{a[1]:.1f} H{bend:.1f} "
            f"C{mid:.1f},{a[1]:.1f} {mid:.1f},{b[1]:.1f} {b[0]:.1f},{b[1]:.1f}")


# --- grids and formulas ---------------------------------------------------------------------


def _grid(g: Grid, x0: float) -> _Drawn:
    rows = len(g.cells)
    cols = max((len(r) for r in g.cells), default=0)
    cw = max([CELL_W] + [_w(t) + 12 for r in g.cells for t in r])
    parts = [_t(x0, TOP - 18, g.title, "title")]
    top = TOP - 6
    ring: tuple[float, float] | None = None
    marked, ringed = set(g.marked), set(g.ringed)
    for r, row in enumerate(g.cells):
        for c, text in enumerate(row):
            x, y = x0 + c * cw, top + r * CELL_H
            cls = "cell" + (" marked" if (r, c) in marked else "") + (
                " ring" if (r, c) in ringed else "")
            parts.append(f'<g class="{cls}"><rect x="{x + 1:.1f}" y="{y + 1:.1f}" '
                         f'width="{cw - 2:.1f}" height="{CELL_H - 2}" rx="4"/>'
                         + _t(x + cw / 2, y + CELL_H / 2 + 4.5, text,
                              "val" if g.tone == "val" else "grad", "middle") + "</g>")
            if (r, c) in ringed and ring is None:  # the leader leaves under the grid
                ring = (x + cw / 2, top + rows * CELL_H)
    for r, c, h, w in g.windows:
        parts.append(f'<rect class="window" x="{x0 + c * cw:.1f}" y="{top + r * CELL_H:.1f}" '
                     f'width="{w * cw:.1f}" height="{h * CELL_H:.1f}" rx="3"/>')
    return _Drawn("".join(parts), max(cols * cw, _w(g.title)), top + rows * CELL_H + 14, ring)


def _formula(f: Formula, x0: float) -> _Drawn:
    parts = [_t(x0, TOP - 18, f.title, "title")]
    code_w = max([_w(ln.text) for ln in f.lines] or [0.0])
    line_h = 28
    ring: tuple[float, float] | None = None
    width = _w(f.title)
    for k, ln in enumerate(f.lines):
        y = TOP + k * line_h
        body = _t(x0 + 8, y + 4, ln.text, "code")
        if ln.value:
            body += _t(x0 + code_w + 22, y + 4, f"= {ln.value}", "grad" if ln.yours else "val")
        full = code_w + 22 + (_w(f"= {ln.value}") if ln.value else 0)
        if ln.ring:
            body = (f'<rect x="{x0:.1f}" y="{y - 13:.1f}" width="{full + 12:.1f}" height="24" '
                    f'rx="6"/>' + body)
            if ln.note:
                body += _t(x0 + full + 22, y + 4, ln.note, "note")
                full += _w(ln.note) + 22
        parts.append(f'<g class="line{" ring" if ln.ring else ""}">{body}</g>')
        width = max(width, full + 14)
    return _Drawn("".join(parts), width, TOP + len(f.lines) * line_h, ring)


def _part(p: Part, x0: float) -> _Drawn:
    if isinstance(p, Graph):
        return _graph(p, x0)
    if isinstance(p, Grid):
        return _grid(p, x0)
    return _formula(p, x0)


def _callout(lines: Sequence[str], top: float, ring: tuple[float, float] | None,
             width: float) -> _Drawn:
    line_h = 17
    w_box = max(_w(t) for t in lines) + 24
    h_box = len(lines) * line_h + 12
    x = LEFT if ring is None else min(max(LEFT, ring[0] - w_box / 2),
                                      max(LEFT, width - w_box - 8))
    y = top + 10
    rows = "".join(_t(x + 12, y + 18 + k * line_h, t, "") for k, t in enumerate(lines))
    leader = (f'<path class="leader" d="M{ring[0]:.1f},{ring[1] + 3:.1f} V{y:.1f}"/>'
              if ring is not None and ring[1] + 3 < y else "")
    return _Drawn(f'{leader}<g class="callout"><rect x="{x:.1f}" y="{y:.1f}" '
                  f'width="{w_box:.1f}" height="{h_box:.1f}" rx="6"/>{rows}</g>',
                  x + w_box + 8, y + h_box + 10)


def figure_svg(fig: Figure) -> str:
    """``fig`` as one ``<svg>`` element, with its title and description for screen readers."""
    x = float(LEFT)
    body: list[str] = []
    height = 0.0
    ring: tuple[float, float] | None = None
    for p in fig.parts:
        d = _part(p, x)
        body.append(d.svg)
        x += d.width + GAP
        height = max(height, d.height)
        ring = ring or d.ring
    width = x - GAP + LEFT
    if fig.callout:
        box = _callout(fig.callout, height, ring, width)
        body.append(box.svg)
        width, height = max(width, box.width), box.height
    svg = "".join(body)
    arrow = "bp-fig-arrow-" + hashlib.sha1(svg.encode()).hexdigest()[:12]
    svg = svg.replace("url(#bp-fig-arrow)", f"url(#{arrow})")
    desc = " ".join(fig.describe())
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bp-figure" role="img" '
        f'aria-label="{escape(fig.title)}" width="{width:.0f}" height="{height:.0f}" '
        f'style="max-width:100%;height:auto" viewBox="0 0 {width:.0f} {height:.0f}">'
        f"<title>{escape(fig.title)}</title><desc>{escape(desc)}</desc>"
        f"<style>{_STYLE}</style>"
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        f"</defs>{svg}</svg>"
    )
