"""Diagnoses of CS231n's convolutional layers, in the lecture's words.

The rules read a failed check's facts (shapes: ``got_shape`` of ``value`` for
``expected_shape``) and its minimal example's values (x, w, conv_param, pool_param, dout), and
recompute what a mistake would have returned (:mod:`.maths`, numpy): a dx with the padding
left on, a filter flipped (a convolution where CS231n's layer is a correlation), db summed over
other axes than (0, 2, 3), the pooling gradient sent to the whole window, to an element that is
not the window's max, or in full to each of several tied maxima.  What is not recognised here
falls back to the rules every item shares.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from bpverify.families.convolution import maths
from bpverify.families.convolution.contract import NET_CATEGORY, NET_TRACED
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr, match
from bpverify.feedback.patterns import wrong_values as wrong_names
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["IDEAS", "MISTAKES", "diagnose"]

IDEAS: dict[str, str] = {
    "conv-pad": "the zero padding only lets the filter reach the border: the padded rows and "
                "columns are constants, not inputs, so dx has the shape of x: compute dx_pad, "
                "then cut the padding off, dx = dx_pad[:, :, P:P + H, P:P + W]",
    "correlation": "CS231n's convolution layer slides each filter over the input as it is, "
                   "without flipping it (a correlation): out[n, f, i, j] = sum(x_pad[n, :, "
                   "window(i, j)] * w[f]) + b[f]",
    "conv-bias": "each filter's bias is added at every position of every example, so its "
                 "gradient adds up the contributions: db[f] sums dout[:, f] over the batch and "
                 "every output position, db = dout.sum(axis=(0, 2, 3))",
    "pool-router": "max pooling is a max gate over each window, a gradient router: it passes "
                   "dout to the input that had the max value, and 0 to the others",
    "pool-overlap": "a value used by several windows collects the gradients of all of them: "
                    "where windows overlap, an element that is the max of two windows gets "
                    "both their dout, so dx[...] += dout, not =",
    "pool-ties": "at a tie a max gate may split dout among the equal maxima (all to one, as "
                 "np.argmax picks, or shares adding up to dout), never give each the whole of "
                 "it: moving the whole window up by t moves its max by t, not by k·t",
    "conv-net-blame": "a net is a chain of layers, each right on its own inputs: the first "
                      "layer call that is wrong on the values the net gave it is the one to fix",
}
MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("conv-padding-left-on", "conv-pad", "returned conv's dx with the padding "
                 "left on"),
    KnownMistake("conv-pad-slice-empty", "conv-pad",
                 "cut the padding off with [pad:-pad], which is empty when pad = 0"),
    KnownMistake("conv-flipped-filter", "correlation", "flipped the filter in {what} (a "
                 "convolution, where CS231n's layer is a correlation)", "the conv layer"),
    KnownMistake("conv-db-axes", "conv-bias", "summed the conv layer's db over the wrong axes"),
    KnownMistake("pool-whole-window", "pool-router",
                 "sent the pooling gradient to the whole window"),
    KnownMistake("pool-wrong-element", "pool-router",
                 "sent the pooling gradient to an element that is not the window's max"),
    KnownMistake("pool-overlap-overwrite", "pool-overlap",
                 "overwrote the pooling gradient where windows overlap (= where += belongs)"),
    KnownMistake("pool-ties-to-all", "pool-ties",
                 "gave the full dout to each tied maximum of a pooling window"),
    KnownMistake("conv-net-guilty-layer", "conv-net-blame",
                 "wrote a layer function that is wrong inside ThreeLayerConvNet ({what})",
                 "a layer call"),
)

_CONV = ("conv_forward_naive", "conv_backward_naive")
_POOL_BACKWARD = "max_pool_backward_naive"


def _conv_param(ex: dict[str, Any]) -> tuple[int, int] | None:
    param = ex.get("conv_param")
    if not isinstance(param, dict):
        return None
    try:
        return int(param["stride"]), int(param["pad"])
    except (KeyError, TypeError, ValueError):
        return None


# --- shapes ------------------------------------------------------------------------------------


def _dx_shape(ex: dict[str, Any], got: tuple[int, ...], exp: tuple[int, ...]
              ) -> Diagnosis | None:
    param = _conv_param(ex)
    if param is None or len(got) != 4 or len(exp) != 4 or got[:2] != exp[:2]:
        return None
    pad = param[1]
    if pad > 0 and got[2:] == (exp[2] + 2 * pad, exp[3] + 2 * pad):
        return found("conv-padding-left-on", f"dx has shape {got}, the padded input's shape: "
                     f"x is {exp} and pad = {pad} adds {2 * pad} rows and columns", subject="dx")
    if pad == 0 and 0 in got[2:]:
        return found("conv-pad-slice-empty", f"dx has shape {got} with pad = 0: dx_pad[:, :, "
                     "pad:-pad] is dx_pad[:, :, 0:0], an empty slice, when pad = 0",
                     subject="dx")
    return None


def _kept_axes(dshape: tuple[int, ...], got: tuple[int, ...]) -> tuple[int, ...] | None:
    """The axes of dout that a sum over the others would leave in the shape ``got``."""
    for k in range(len(dshape) + 1):
        for kept in itertools.combinations(range(len(dshape)), k):
            if tuple(dshape[a] for a in kept) == got and kept != (1,):
                return kept
    return None


def _db_shape(ex: dict[str, Any], got: tuple[int, ...]) -> Diagnosis | None:
    dout = arr(ex.get("dout"))
    if dout is None or dout.ndim != 4:
        return None
    kept = _kept_axes(dout.shape, got)
    if kept is None:
        return None
    summed = tuple(a for a in range(4) if a not in kept)
    return found("conv-db-axes", f"db has shape {got}, what dout of shape {dout.shape} "
                 f"summed over axes {summed} gives, where db sums over axes (0, 2, 3) and keeps "
                 "one value per filter", subject="db")


def _shape(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    f, ex = check.facts, dict(check.example or {})
    if f.got_shape is None or f.expected_shape is None or item.name != "conv_backward_naive":
        return None
    got, exp = tuple(f.got_shape), tuple(f.expected_shape)
    if f.value == "dx":
        return _dx_shape(ex, got, exp)
    if f.value == "db":
        return _db_shape(ex, got)
    return None


# --- values ------------------------------------------------------------------------------------


def _flipped(ex: dict[str, Any], got: dict[str, Any], wrong: list[str],
             forward: bool) -> Diagnosis | None:
    x, w, b, param = arr(ex.get("x")), arr(ex.get("w")), arr(ex.get("b")), _conv_param(ex)
    if x is None or w is None or b is None or param is None or w.ndim != 4:
        return None
    stride, pad = param
    flipped = w[:, :, ::-1, ::-1]
    if forward:
        if np.allclose(w, flipped):
            return None  # a 1x1 (or symmetric) filter is its own flip: nothing to tell apart
        if "out" in wrong and match(got.get("out"), maths.correlate(x, flipped, b, stride, pad)):
            return found("conv-flipped-filter", "out is the input convolved with each filter "
                         "flipped upside down and left to right (w[:, :, ::-1, ::-1])",
                         subject="out")
        return None
    dout = arr(ex.get("dout"))
    if dout is None:
        return None
    dx, dw, _ = maths.correlate_backward(x, flipped, dout, stride, pad)
    said = [n for n, v in (("dx", dx), ("dw", dw[:, :, ::-1, ::-1])) if n in wrong
            and match(got.get(n), v)]
    if said and all(n in said for n in wrong if n != "db"):
        return found("conv-flipped-filter", f"{' and '.join(said)} "
                     f"{'is' if len(said) == 1 else 'are'} the gradient of a layer whose "
                     "filters are flipped (w[:, :, ::-1, ::-1]): a convolution, where CS231n's "
                     "layer is a correlation", subject=" and ".join(said))
    return None


def _db_values(ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    dout, g = arr(ex.get("dout")), arr(got.get("db"))
    if dout is None or g is None or dout.ndim != 4:
        return None
    for kept in itertools.combinations(range(4), 1):
        if kept == (1,) or dout.shape[kept[0]] != g.size:
            continue
        summed = tuple(a for a in range(4) if a not in kept)
        if match(g, dout.sum(axis=summed)):
            return found("conv-db-axes", f"db is dout summed over axes {summed}, where db "
                         "sums over axes (0, 2, 3) and keeps one value per filter",
                         subject="db")
    return None


def _pool(ex: dict[str, Any], got: dict[str, Any]) -> Diagnosis | None:
    x, dout, dx, param = arr(ex.get("x")), arr(ex.get("dout")), arr(got.get("dx")), \
        ex.get("pool_param")
    if x is None or dout is None or dx is None or not isinstance(param, dict) or x.ndim != 4:
        return None
    if dx.shape != x.shape:
        return None
    for share in (False, True):
        if match(dx, maths.whole_window(dout, x.shape, param, share)):
            how = (" divided among its elements, as average pooling does" if share else
                   " in full, like an add gate")
            return found("pool-whole-window", f"dx gives each window's dout to every element "
                         f"of the window{how}, not to its max alone", subject="dx")
    if maths.overlapping(param) and match(dx, maths.route_to_max(x, dout, param, assign=True)):
        return found("pool-overlap-overwrite", "where windows overlap and share their max, dx "
                     "keeps only the last window's dout: it assigns dx[...] = dout where the "
                     "windows' gradients add up (+=)", subject="dx")
    if match(dx, maths.route_to_max(x, dout, param, offset=False)) and not match(
            dx, maths.route_to_max(x, dout, param)):
        return found("pool-wrong-element", "dx puts each window's dout at the place of its max "
                     "inside the window counted from x's top-left corner: the window's offset "
                     "(i·stride, j·stride) is missing", subject="dx")
    routes = maths.pool_routes(x, dx, dout, param)
    if not routes or routes["spread"]:
        return None
    windows = sum(routes.values())
    if routes["other"]:
        return found("pool-wrong-element", f"in {routes['other']} of {windows} windows, dx "
                     "sends the whole dout to one element that is not the window's max",
                     subject="dx")
    if routes["all-maxima"]:
        return found("pool-ties-to-all", f"in {routes['all-maxima']} of {windows} windows, "
                     "which hold equal maxima, dx gives the full dout to each of them",
                     subject="dx")
    return None


def _values(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if not exp or not got:
        return None
    ex = dict(check.example or {})
    wrong = wrong_names(check, exp, got)
    if item.name in _CONV:
        first = _flipped(ex, got, wrong, item.name == "conv_forward_naive")
        if first is None and "db" in wrong:
            first = _db_values(ex, got)
        return first
    if item.name == _POOL_BACKWARD and "dx" in wrong:
        return _pool(ex, got)
    return None


# --- ThreeLayerConvNet: the L2 term --------------------------------------------------------


def _net_l2(check: CheckResult) -> Diagnosis | None:
    """The L2 term left out for some weights, taken without its 0.5, or put on the biases."""
    exp, got, ex = dict(check.expected or {}), dict(check.got or {}), dict(check.example or {})
    params, reg = ex.get("params"), ex.get("reg")
    if not isinstance(params, dict) or not isinstance(reg, (int, float)) or reg <= 0:
        return None
    wrong = wrong_names(check, exp, got)
    weights = [k for k in ("W1", "W2", "W3") if k in params]
    missing = [k for k in wrong if k in weights
               and match(got[k], np.asarray(exp[k]) - reg * np.asarray(params[k]))]
    if missing and all(k in missing for k in wrong if k != "loss"):
        return found("missing-regularization", f"{' and '.join(missing)} "
                     f"{'lacks' if len(missing) == 1 else 'lack'} the gradient reg·W of the L2 "
                     "term", subject=" and ".join(missing))
    doubled = [k for k in wrong if k in weights
               and match(got[k], np.asarray(exp[k]) + reg * np.asarray(params[k]))]
    if doubled and all(k in doubled for k in wrong if k != "loss"):
        return found("regularization-factor", f"{' and '.join(doubled)} carr"
                     f"{'ies' if len(doubled) == 1 else 'y'} 2·reg·W, the gradient of "
                     "reg·ΣW² without its 0.5", subject=" and ".join(doubled))
    biases = [k for k in wrong if k.startswith("b") and k in params
              and match(got[k], np.asarray(exp[k]) + reg * np.asarray(params[k]))]
    if biases:
        return found("regularized-biases", f"{' and '.join(biases)} carr"
                     f"{'ies' if len(biases) == 1 else 'y'} reg·b: the biases were "
                     "regularized too", subject=" and ".join(biases))
    if wrong == ["loss"]:
        l2 = {k: 0.5 * reg * float(np.sum(np.square(params[k]))) for k in weights}
        e, g = float(np.asarray(exp["loss"])), arr(got.get("loss"))
        if g is None:
            return None
        for k, term in l2.items():
            if match(g, e - term):
                return found("missing-regularization", f"the loss leaves {k} out of the L2 "
                             "term 0.5·reg·ΣW²", subject="loss")
        if match(g, e - sum(l2.values())):
            return found("missing-regularization", "the loss has no L2 term", subject="loss")
        if match(g, e + sum(l2.values())):
            return found("regularization-factor", "the loss adds reg·ΣW², twice 0.5·reg·ΣW²",
                         subject="loss")
    return None


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The family's mistakes behind a failed check; None leaves it to the shared rules."""
    if item.category == NET_CATEGORY:
        if check.facts.where in NET_TRACED:
            return found("conv-net-guilty-layer", f"{check.facts.where} is the first call that "
                         f"is wrong on the values the net gave it ({check.facts.value} "
                         "differs)", subject=check.facts.where)
        if check.kind == "wrong-values" and check.name == "regularization":
            return _net_l2(check)
        if check.kind == "numerical":
            reg = next((c for c in item.checks if c.status == "failed"
                        and c.name == "regularization"), None)
            return diagnose(reg, item) if reg is not None else None
        return None
    if check.kind == "wrong-shape":
        return _shape(check, item)
    if check.kind == "wrong-values":
        return _values(check, item)
    if check.kind == "numerical":
        # Centred differences see single elements; the oracle's check sees whole arrays.
        oracle = next((c for c in item.checks if c.status == "failed" and c is not check
                       and c.name in ("backward", "ties", "overlap")), None)
        return diagnose(oracle, item) if oracle is not None else None
    return None
