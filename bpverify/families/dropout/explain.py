"""The drawing of a failed dropout check: inverted dropout's lines, at the unit that is wrong.

Train mode keeps each unit with probability q and divides the kept ones by q, so that out has
x's expectation; test mode passes x (and dout) through unchanged; backward sends dout through
the same mask.  At the unit of the largest error, each line carries its value (x, dout, and
the expected value from the check), the submission's value stands under it, and the line of
the diagnosed mistake is ringed.  q is read from the check's own values (a kept unit's
expected out / x), never assumed.
"""

from __future__ import annotations

import numpy as np

from bpverify.feedback.patterns import arr
from bpverify.feedback.words import num
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Formula, Line

__all__ = ["figure"]

_NOTES = {
    "dropout-not-rescaled": ("mask", "yours: keep alone, not divided by q"),
    "dropout-p-meaning": ("keep", "yours: p read as the other probability"),
    "dropout-mask-at-test": ("test", "yours: a mask (or a scale) at test time"),
    "dropout-backward-no-mask": ("dx", "yours: not dout through the mask / q"),
}


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """Inverted dropout's lines at the unit of the largest error, or None."""
    value = {"train mode": "out", "test mode": "out" if item.name == "dropout_forward"
             else "dx", "backward": "dx"}.get(check.name)
    if value is None:
        return None
    ex, exp, got = dict(check.example or {}), dict(check.expected or {}), dict(check.got or {})
    x, dout = arr(ex.get("x")), arr(ex.get("dout"))
    e, g = arr(exp.get(value)), arr(got.get(value))
    if x is None or e is None or g is None or e.shape != x.shape or g.shape != x.shape:
        return None
    at = next((m.index for m in check.mismatches if m.value == value), None)
    if at is None or len(at) != x.ndim:
        return None
    src = x if value == "out" else dout
    if src is None or src.shape != x.shape:
        return None
    kept = (e != 0) & (src != 0)
    q = float(np.mean(src[kept] / e[kept])) if kept.any() and check.name != "test mode" else None
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    ringed, note = _NOTES.get(mistake, ("", ""))
    where = f"[{', '.join(map(str, at))}]"
    name = "x" if value == "out" else "dout"
    lines = []
    if check.name == "test mode":
        lines.append(Line(f"{value} = {name}   (test mode: no mask, no scaling)",
                          num(e[at]), ring=ringed == "test", note=note))
    else:
        p = ex.get("p")
        # a unit is seen kept or dropped only where its input is not 0
        seen = "kept" if e[at] != 0 else "dropped" if src[at] != 0 else "? (input 0)"
        lines.append(Line(f"keep = rand < q   (q = {num(q) if q else '?'}, p = {p})",
                          seen, ring=ringed == "keep",
                          note=note if ringed == "keep" else ""))
        lines.append(Line("mask = keep / q", num(1 / q) if q and e[at] != 0 else
                          "0" if src[at] != 0 else "",
                          ring=ringed == "mask", note=note if ringed == "mask" else ""))
        lines.append(Line(f"{value} = {name} · mask   ({name}{where} = {num(src[at])})",
                          num(e[at]), ring=ringed == "dx", note=note if ringed == "dx" else ""))
    lines.append(Line(f"yours: {value}{where}", num(g[at]), yours=True))
    return Figure(
        title=f"{item.name}, {check.name}: inverted dropout at unit {where}",
        parts=(Formula(f"{item.name}, {check.name}, at {value}{where}", tuple(lines)),),
        intro=("Inverted dropout as the course writes it: in train mode keep each unit with "
               "probability q and divide by q; at test time pass everything through; backward "
               "sends dout through the same mask."),
    )
