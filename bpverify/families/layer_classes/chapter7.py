"""Diagnoses of the book's chapter 6-7 classes: Dropout, BatchNormalization, Convolution and
Pooling (feedback.py asks :func:`diagnose7` first for them).

Each rule recomputes the mistake from the minimal example (its x, parameters and dout, the
values the check judged) and names it only where the submission's value is that mistake's
value and not the right one: a diagnosis never claims what it did not see.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.layer_classes.contract import CHAPTER7
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr, match
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["IDEAS7", "MISTAKES7", "diagnose7"]

IDEAS7: dict[str, str] = {
    "book-dropout-mask": "dropout's forward multiplies x by a 0/1 mask (and inverted dropout "
                         "by 1 / (1 - dropout_ratio)), so its backward multiplies dout by the "
                         "same: a dropped unit passes no gradient",
    "book-dropout-test": "at test time (train_flg=False) no unit is dropped; each output is "
                         "what training gives on average, x * (1 - dropout_ratio) in the book",
    "book-dropout-ratio": "dropout_ratio is the share of units dropped: the book keeps a unit "
                          "where rand > dropout_ratio",
    "book-bn-graph": "x reaches x_hat along three paths: directly, through the mean and "
                     "through the variance; backward adds the gradient of every path",
    "book-bn-eps": "eps sits inside the square root, x_hat = (x - mean) / sqrt(var + eps): a "
                   "feature whose values are all equal must not be divided by zero",
    "book-bn-test": "at test time (train_flg=False) the batch's statistics are not used: x is "
                    "normalized with the running averages kept during training",
    "book-bn-running": "the running averages decay: running = momentum * running + "
                       "(1 - momentum) * the batch's statistic",
    "book-conv-shapes": "a parameter's gradient has its parameter's shape: im2col's dW comes "
                        "out as a (C*FH*FW, FN) matrix and is transposed and reshaped back to "
                        "(FN, C, FH, FW); the padding is cut off dx",
    "book-conv-bias": "each filter's bias is added at every output position of every example, "
                      "so db sums dout over the batch, the height and the width: one value per "
                      "filter",
    "book-correlation": "the book's convolution slides each filter over the input as it is "
                        "(a correlation), without flipping it",
    "book-pool-router": "max pooling routes each window's gradient to the element that was "
                        "the max, as the max gate routes it to its larger input",
    "book-finite": "convolution, pooling and dropout only multiply, add and compare: a nan or "
                   "inf comes from a division by zero (a count of windows that is 0 where no "
                   "window reaches) or from an array made with np.empty and never filled",
}
MISTAKES7: tuple[KnownMistake, ...] = (
    KnownMistake("book-dropout-backward-no-mask", "book-dropout-mask",
                 "returned dout from Dropout.backward without the mask"),
    KnownMistake("book-dropout-backward-unscaled", "book-dropout-mask",
                 "left inverted dropout's scale out of Dropout.backward"),
    KnownMistake("book-dropout-test-mask", "book-dropout-test",
                 "dropped units at test time (train_flg ignored)"),
    KnownMistake("book-dropout-not-scaled", "book-dropout-test",
                 "returned x unscaled at test time while training keeps units unscaled"),
    KnownMistake("book-dropout-scaled-twice", "book-dropout-test",
                 "scaled by the kept share both in training and at test time"),
    KnownMistake("book-dropout-ratio-kept", "book-dropout-ratio",
                 "kept units with probability dropout_ratio instead of dropping them"),
    KnownMistake("book-bn-no-mean-path", "book-bn-graph",
                 "left the path through the mean out of BatchNormalization.backward"),
    KnownMistake("book-bn-no-var-path", "book-bn-graph",
                 "left the path through the variance out of BatchNormalization.backward"),
    KnownMistake("book-bn-stats-constant", "book-bn-graph",
                 "treated the mean and variance as constants in BatchNormalization.backward"),
    KnownMistake("book-bn-eps", "book-bn-eps", "left eps out of BatchNormalization"),
    KnownMistake("book-bn-test-batch-stats", "book-bn-test",
                 "normalized with the batch's statistics at test time (train_flg ignored)"),
    KnownMistake("book-bn-running-no-momentum", "book-bn-running",
                 "kept the running averages without momentum"),
    KnownMistake("book-conv-not-reshaped", "book-conv-shapes",
                 "left {what} of Convolution in im2col's matrix shape", "dW"),
    KnownMistake("book-conv-padded-dx", "book-conv-shapes",
                 "returned Convolution's dx with the padding left on"),
    KnownMistake("book-conv-db-axes", "book-conv-bias",
                 "summed Convolution's db over the wrong axes"),
    KnownMistake("book-conv-flipped", "book-correlation",
                 "flipped the filter in Convolution.forward"),
    KnownMistake("book-pool-whole-window", "book-pool-router",
                 "sent Pooling's gradient to the whole window"),
    KnownMistake("book-pool-ties-to-all", "book-pool-router",
                 "gave the full dout to each tied maximum of a pooling window"),
    KnownMistake("book-not-finite", "book-finite",
                 "returned nan or inf from {what} on small inputs", "a layer"),
)


# --- the book's maths, for the patterns ------------------------------------------------------


def _flat(v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def _bn_variants(ex: dict[str, Any]) -> dict[str, np.ndarray]:
    """dx of BatchNormalization.backward with a path left out, for the example's values."""
    x, g, d = arr(ex.get("x")), arr(ex.get("gamma")), arr(ex.get("dout"))
    if x is None or g is None or d is None or x.ndim < 2 or d.shape != x.shape:
        return {}
    xf, df = _flat(x), _flat(d)
    xc = xf - xf.mean(axis=0)
    std = np.sqrt((xc ** 2).mean(axis=0) + 1e-6)
    xn, dxn = xc / std, df * g
    shape = x.shape
    return {"book-bn-no-mean-path": ((dxn - xn * (dxn * xn).mean(axis=0)) / std).reshape(shape),
            "book-bn-no-var-path": ((dxn - dxn.mean(axis=0)) / std).reshape(shape),
            "book-bn-stats-constant": (dxn / std).reshape(shape)}


def _batch_normalized(ex: dict[str, Any], key: str) -> np.ndarray | None:
    x, g, b = arr(ex.get(key)), arr(ex.get("gamma")), arr(ex.get("beta"))
    if x is None or g is None or b is None or x.ndim < 2:
        return None
    xf = _flat(x)
    xc = xf - xf.mean(axis=0)
    return (g * xc / np.sqrt((xc ** 2).mean(axis=0) + 1e-6) + b).reshape(x.shape)


def _correlate(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int
               ) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    fn, _, fh, fw = w.shape
    oh, ow = 1 + (xp.shape[2] - fh) // stride, 1 + (xp.shape[3] - fw) // stride
    out = np.empty((x.shape[0], fn, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + fh, j * stride:j * stride + fw]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", patch, w)
    return out + b.reshape(1, fn, 1, 1)


def _whole_window(ex: dict[str, Any]) -> np.ndarray | None:
    x, d = arr(ex.get("x")), arr(ex.get("dout"))
    if x is None or d is None or x.ndim != 4:
        return None
    ph, pw, s = int(ex["pool_h"]), int(ex["pool_w"]), int(ex["stride"])
    dx = np.zeros(x.shape)
    for i in range(d.shape[2]):
        for j in range(d.shape[3]):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += d[:, :, i, j][:, :, None, None]
    return dx


def _ties_to_all(ex: dict[str, Any]) -> np.ndarray | None:
    x, d = arr(ex.get("x")), arr(ex.get("dout"))
    if x is None or d is None or x.ndim != 4:
        return None
    ph, pw, s = int(ex["pool_h"]), int(ex["pool_w"]), int(ex["stride"])
    dx = np.zeros(x.shape)
    for i in range(d.shape[2]):
        for j in range(d.shape[3]):
            win = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
            top = win == win.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += top * d[:, :, i, j][:, :, None, None]
    return dx


# --- the rules ---------------------------------------------------------------------------------


def _dropout(check: CheckResult, ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    x = arr(ex.get("x"))
    r = ex.get("dropout_ratio")
    if check.name == "backward":
        dout, dx = arr(ex.get("dout")), arr(got.get("dx"))
        exp = arr((check.expected or {}).get("dx"))
        if dout is None or dx is None or exp is None or exp.shape != dout.shape:
            return None
        dropped = (exp == 0) & (dout != 0)  # units forward dropped, where dout is not 0
        if dropped.any() and match(dx, dout):
            return found("book-dropout-backward-no-mask", "dx is dout itself: units that "
                         "forward dropped still pass their gradient", subject="dx")
        if isinstance(r, float) and match(dx, exp * (1 - r)) and not match(dx, exp):
            return found("book-dropout-backward-unscaled", "dx is dout through the mask but "
                         "without the 1 / (1 - dropout_ratio) that forward multiplied the kept "
                         "units by", subject="dx")
        return None
    if check.name == "drop rate" and isinstance(r, float):
        share = (check.got or {}).get("dropped share")
        if isinstance(share, float) and abs(share - (1 - r)) < abs(share - r):
            return found("book-dropout-ratio-kept", f"{share:.0%} of the units were dropped "
                         f"with dropout_ratio = {r:g}: about 1 - dropout_ratio, so units were "
                         "kept where rand < dropout_ratio", subject="mask")
    if check.name != "test mode" or x is None or not isinstance(r, float):
        return None
    out = arr(got.get("out"))
    if out is None or out.shape != x.shape:
        return None
    again = arr(got.get("out (second call)"))
    if (again is not None and again.shape == out.shape and not np.array_equal(again, out)) or (
            np.any(out == 0) and not np.any(x == 0)):
        return found("book-dropout-test-mask", "with train_flg=False, some outputs are 0 or "
                     "change from call to call: units were dropped at test time", subject="out")
    if match(out, x):
        return found("book-dropout-not-scaled", "with train_flg=False, out is x itself, while "
                     "training keeps units unscaled (x * mask): on average training gives "
                     "x * (1 - dropout_ratio), not x", subject="out")
    if match(out, x * (1 - r)):
        return found("book-dropout-scaled-twice", "training divided the kept units by "
                     "1 - dropout_ratio and test time multiplies x by it as well", subject="out")
    return None


def _batchnorm(check: CheckResult, ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    if check.kind == "not-finite" and check.name == "low variance":
        return found("book-bn-eps", f"{check.facts.value or 'out'} is not finite where a "
                     "feature has one value in the batch: its variance is 0, and a division "
                     "by the variance (or its square root) without eps is 0 / 0",
                     subject=check.facts.value or "out")
    if check.name in ("backward", "4-d input") and "dx" in got:
        for mistake, dx in _bn_variants(ex).items():
            if match(got["dx"], dx):
                path = {"book-bn-no-mean-path": "the path through the mean",
                        "book-bn-no-var-path": "the path through the variance",
                        "book-bn-stats-constant": "the paths through the mean and the "
                                                  "variance"}[mistake]
                return found(mistake, f"dx is what backward gives without {path}",
                             subject="dx")
    if check.name == "test mode":
        batch = _batch_normalized(ex, "x3")
        if batch is not None and match(got.get("out"), batch):
            return found("book-bn-test-batch-stats", "with train_flg=False, out is x "
                         "normalized with its own batch's mean and variance, not with the "
                         "running averages", subject="out")
    if check.name == "running averages":
        x2 = arr(ex.get("x2"))
        if x2 is not None and x2.ndim >= 2 and match(got.get("running_mean"),
                                                     _flat(x2).mean(axis=0)):
            return found("book-bn-running-no-momentum", "after a training call, running_mean "
                         "is that batch's mean: the old average was replaced, not decayed",
                         subject="running_mean")
    return None


def _convolution(check: CheckResult, ex: dict[str, Any], got: dict[str, Any]
                 ) -> Diagnosis | None:
    f = check.facts
    if f.got_shape is not None and f.expected_shape is not None:
        g, e = tuple(f.got_shape), tuple(f.expected_shape)
        if f.value == "dW" and int(np.prod(g)) == int(np.prod(e)):
            return found("book-conv-not-reshaped", f"dW has shape {g}, the right size but not "
                         f"W's shape {e}", subject="dW")
        if f.value == "dx" and len(g) == 4 and g[:2] == e[:2] and g[2] > e[2]:
            return found("book-conv-padded-dx", f"dx has shape {g}: the padded input's, not "
                         f"x's {e}", subject="dx")
        if f.value == "db" and g != e:
            return found("book-conv-db-axes", f"db has shape {g}; one value per filter is "
                         f"{e}: dout is summed over axes 0, 2 and 3", subject="db")
        return None
    x, w, b = arr(ex.get("x")), arr(ex.get("W")), arr(ex.get("b"))
    if "db" in got and x is not None:
        d = arr(ex.get("dout"))
        db = arr(got.get("db"))
        if d is not None and db is not None and not match(db, d.sum(axis=(0, 2, 3))):
            for axes in ((0,), (2, 3), (1, 2, 3), (0, 1)):
                other = d.sum(axis=axes)
                if other.size == db.size and match(db, other.reshape(db.shape)):
                    return found("book-conv-db-axes", f"db is dout summed over axes {axes}, "
                                 "not over 0, 2 and 3", subject="db")
    if check.name == "forward" and x is not None and w is not None and b is not None \
            and w.ndim == 4:
        flipped = _correlate(x, w[:, :, ::-1, ::-1], b, int(ex["stride"]), int(ex["pad"]))
        out = arr(got.get("out"))
        if out is not None and flipped.shape == out.shape and match(out, flipped) \
                and not match(flipped, _correlate(x, w, b, int(ex["stride"]), int(ex["pad"]))):
            return found("book-conv-flipped", "out is the input convolved with each filter "
                         "turned by 180 degrees", subject="out")
    return None


def _pooling(check: CheckResult, ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    if "dx" not in got:
        return None
    if check.name == "ties":
        allmax = _ties_to_all(ex)
        if allmax is not None and match(got["dx"], allmax):
            return found("book-pool-ties-to-all", "where a window holds equal maxima, each of "
                         "them got the window's full dout", subject="dx")
    whole = _whole_window(ex)
    if whole is not None and match(got["dx"], whole):
        return found("book-pool-whole-window", "every element of each window got the window's "
                     "dout, not only its max", subject="dx")
    return None


_RULES = {"Dropout": _dropout, "BatchNormalization": _batchnorm, "Convolution": _convolution,
          "Pooling": _pooling}


def diagnose7(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The mistake behind a failed value check of a chapter 6-7 class, or None."""
    if item.name not in CHAPTER7:
        return None
    rule = _RULES[item.name]
    seen = rule(check, dict(check.example or {}), dict(check.got or {}))
    if seen is None and check.kind == "not-finite" and item.name != "BatchNormalization":
        # No exp, no log: never an overflow (the rule every item shares would say so).
        where = check.facts.where.split("(")[0] or item.name
        return found("book-not-finite", f"{where} returned {check.facts.value or 'a value'} "
                     "with nan or inf for inputs no larger than 3", subject=where)
    return seen
