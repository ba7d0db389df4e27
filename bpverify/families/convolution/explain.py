"""The drawing of a failed max-pooling backward: where the gradient should go, where it went.

One plane of the minimal example (the example and channel of the largest error): x with its
pooling windows outlined and each window's max in bold, dout (one number per window), the dx a
max gate routes (each window's dout to its max, 0 to the others) and the submission's dx, with
the cells where it differs ringed.  Every number is the check's: x and dout from its example,
both dx from its expected and got values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.convolution.maths import pool_dims, pool_windows
from bpverify.feedback.patterns import arr
from bpverify.feedback.words import num
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Grid

__all__ = ["figure"]

#: The largest plane drawn cell by cell.
MAX_SIDE = 8


def _cells(a: np.ndarray) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(num(v) for v in row) for row in a)


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The pooling plane of the largest error, or None for another item or missing values."""
    if item.name != "max_pool_backward_naive" or check.name not in ("backward", "ties",
                                                                    "overlap"):
        return None
    ex = dict(check.example or {})
    x, dout, param = arr(ex.get("x")), arr(ex.get("dout")), ex.get("pool_param")
    exp, got = arr((check.expected or {}).get("dx")), arr((check.got or {}).get("dx"))
    if x is None or dout is None or exp is None or got is None or not isinstance(param, dict):
        return None
    if x.ndim != 4 or exp.shape != x.shape or got.shape != x.shape:
        return None
    try:
        ph, pw, stride = pool_dims(param)
    except (KeyError, TypeError, ValueError):
        return None
    n, c = np.unravel_index(int(np.argmax(np.abs(got - exp).max(axis=(2, 3)))), x.shape[:2])
    plane, e, g, d = x[n, c], exp[n, c], got[n, c], dout[n, c]
    if max(plane.shape) > MAX_SIDE:
        return None
    windows = list(pool_windows(x.shape, param))
    boxes = tuple((r.start, q.start, ph, pw) for _, _, r, q in windows)
    maxima = []
    for _, _, rows, cols in windows:
        win = plane[rows, cols]
        for r, q in zip(*np.nonzero(win == win.max())):
            maxima.append((rows.start + int(r), cols.start + int(q)))
    wrong = tuple((int(r), int(q)) for r, q in zip(*np.nonzero(~np.isclose(g, e))))
    at = f"x[{n}, {c}]"
    parts = (
        Grid(f"{at}: windows {ph}×{pw}, stride {stride}", _cells(plane), "val", boxes,
             tuple(dict.fromkeys(maxima))),
        Grid(f"dout[{n}, {c}]: one per window", _cells(d), "grad"),
        Grid("dx: where it should go", _cells(e), "grad", boxes,
             tuple((int(r), int(q)) for r, q in zip(*np.nonzero(e)))),
        Grid("dx: where yours sent it", _cells(g), "grad", boxes, (), wrong),
    )
    callout = _story(plane, d, e, g, windows)
    return Figure(
        title=f"{item.name}, {check.name}: the pooling windows of {at}",
        parts=parts,
        callout=tuple(callout),
        intro=(f"Max pooling of {at} ({plane.shape[0]}×{plane.shape[1]}) in {len(windows)} "
               f"window{'s' if len(windows) != 1 else ''} of {ph}×{pw} with stride {stride}; "
               "a max gate routes each window's dout to its max (in bold) and 0 to the "
               "others."),
    )


def _story(plane: np.ndarray, d: np.ndarray, e: np.ndarray, g: np.ndarray,
           windows: list[Any]) -> list[str]:
    """The first window whose cells differ, in numbers."""
    for i, j, rows, cols in windows:
        if np.allclose(g[rows, cols], e[rows, cols]):
            continue
        win = plane[rows, cols]
        tops = [f"({rows.start + int(a)}, {cols.start + int(b)})"
                for a, b in zip(*np.nonzero(win == win.max()))]
        sent = [(rows.start + int(a), cols.start + int(b)) for a, b in
                zip(*np.nonzero(g[rows, cols]))]
        where = (f"sits at {tops[0]}, so dout = {num(d[i, j])} goes there alone"
                 if len(tops) == 1 else f"is tied at {', '.join(tops)}: dout = "
                 f"{num(d[i, j])} goes to one of them, or is shared, never given to each")
        return [f"window ({i}, {j}): its max x = {num(win.max())} {where}",
                "yours sent gradient to " + (", ".join(f"({a}, {b})" for a, b in sent)
                                             if sent else "no element of it")]
    return []
