"""Drawings of failed convolutional items: max pooling's windows, ThreeLayerConvNet's calls.

Max pooling: where the gradient should go, where it went.

One plane of the minimal example (the example and channel of the largest error): x with its
pooling windows outlined and each window's max in bold, dout (one number per window), the dx a
max gate routes (each window's dout to its max, 0 to the others) and the submission's dx, with
the cells where it differs ringed.  Every number is the check's: x and dout from its example,
both dx from its expected and got values.

ThreeLayerConvNet: its loss as the chain of layer calls the course builds (conv - relu - 2x2 max
pool - affine - relu - affine - softmax, + the L2 term), the L2 term ringed when the diagnosis
says the loss or the gradients got it wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.convolution.contract import NET_CATEGORY
from bpverify.families.convolution.maths import pool_dims, pool_windows
from bpverify.feedback.patterns import arr
from bpverify.feedback.words import num
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Formula, Graph, Grid, Line, Stage, numbers

__all__ = ["figure"]

#: The largest plane drawn cell by cell.
MAX_SIDE = 8


def _cells(a: np.ndarray) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(num(v) for v in row) for row in a)


#: A diagnosis of the L2 term -> what the ringed stage says.
_L2 = {"missing-regularization": "L2 term missing", "regularization-factor": "twice the L2",
       "regularized-biases": "biases regularized"}
_NET_CHAIN = ("conv_forward", "relu_forward", "max_pool_forward (2×2)", "affine_forward",
              "relu_forward", "affine_forward", "softmax_loss")


def _net(item: ItemResult, check: CheckResult) -> Figure | None:
    """ThreeLayerConvNet's loss as layer calls, its L2 term ringed on the diagnosis."""
    ex = dict(check.example or {})
    X, reg = arr(ex.get("X")), ex.get("reg")
    if X is None or not isinstance(reg, int | float):
        return None
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    stages = [Stage("X", "X", value=f"shape {tuple(X.shape)}")]
    for k, call in enumerate(_NET_CHAIN):
        stages.append(Stage(f"c{k}", call, (stages[-1].key,)))
    stages.append(Stage("loss", "+ ½·reg·ΣW²", (stages[-1].key,), ring=mistake in _L2,
                        tag=_L2.get(mistake, "")))
    callout = [f"{m.value}{list(m.index) if m.index else ''}: yours {numbers(m.got)}, "
               f"expected {numbers(m.expected)}" for m in check.mismatches[:2]]
    if mistake in _L2:
        callout.append(f"the L2 term is 0.5·reg·(ΣW1² + ΣW2² + ΣW3²), reg = {reg:g}; its "
                       "gradient reg·Wk goes into each grads['Wk']")
    return Figure(
        title=f"{item.name}, {check.name}: the loss as a chain of layer calls",
        parts=(Graph(tuple(stages), output="loss"),),
        callout=tuple(callout),
        intro=("ThreeLayerConvNet.loss as the course builds it: conv - relu - 2x2 max pool - "
               "affine - relu - affine - softmax, plus the L2 term of the three weights."),
    )


def _conv(item: ItemResult, check: CheckResult) -> Figure | None:
    """The conv layer's rule with the diagnosed mistake: the filter flipped, the padding left
    on dx, db summed over other axes."""
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    f = check.facts
    ex = dict(check.example or {})
    w = arr(ex.get("w"))
    parts: list[Grid | Formula] = []
    if mistake == "conv-flipped-filter" and w is not None and w.ndim == 4 \
            and max(w.shape[2:]) <= MAX_SIDE:
        plane = w[0, int(np.argmax(np.abs(w[0]).sum(axis=(1, 2))))]
        parts += [Grid("w[0, c]: as given", _cells(plane), "val"),
                  Grid("as yours slides it: flipped", _cells(plane[::-1, ::-1]), "val",
                       ringed=tuple((r, c) for r in range(plane.shape[0])
                                    for c in range(plane.shape[1]))),
                  Formula("the course's layer is a correlation", (
                      Line("out[n, f, i, j] = Σ x_pad[n, :, window(i, j)] · w[f] + b[f]",
                           ring=True, note="yours: w[f] flipped"),))]
    elif mistake in ("conv-padding-left-on", "conv-pad-slice-empty") and f.got_shape \
            and f.expected_shape and len(f.got_shape) == 4 and max(f.got_shape[2:]) <= MAX_SIDE:
        h, wd = f.got_shape[2:]
        eh = f.expected_shape[2]
        pad = (h - eh) // 2 if mistake == "conv-padding-left-on" else 0
        cells = tuple(tuple("pad" if pad and not (pad <= r < h - pad and pad <= c < wd - pad)
                            else "x" for c in range(wd)) for r in range(h))
        border = tuple((r, c) for r in range(h) for c in range(wd) if cells[r][c] == "pad")
        parts += [Grid(f"yours: dx of shape {f.got_shape}", cells, "grad", ringed=border),
                  Formula("dx has the shape of x", (
                      Line(f"dx = dx_pad[:, :, P:P + H, P:P + W]   (shape {f.expected_shape})",
                           ring=True, note="yours: the padding left on" if pad else
                           "yours: an empty slice"),))]
    elif mistake == "conv-db-axes":
        parts.append(Formula("the bias is added at every example and position", (
            Line("db = dout.sum(axis=(0, 2, 3))", f"shape {f.expected_shape}"
                 if f.expected_shape else "", ring=True,
                 note=f"yours: shape {f.got_shape}" if f.got_shape else "yours: other axes"),)))
    if not parts:
        return None
    return Figure(
        title=f"{item.name}, {check.name}: the conv layer's rule",
        parts=tuple(parts),
        callout=tuple(f"{m.value}{list(m.index)}: yours {num(m.got)}, expected {num(m.expected)}"
                      for m in check.mismatches[:2]),
        intro="CS231n's convolution layer slides each filter over the zero-padded input as it "
              "is (a correlation), adds its bias, and its backward mirrors that.",
    )


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The pooling plane of the largest error, ThreeLayerConvNet's chain of calls, the conv
    layer's rule, or None."""
    if item.category == NET_CATEGORY and check.name in ("loss", "gradients",
                                                         "regularization"):
        return _net(item, check)
    if item.name in ("conv_forward_naive", "conv_backward_naive") and check.name in (
            "forward", "backward"):
        return _conv(item, check)
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
