"""Diagnoses of CS231n's normalization layers, read from the minimal example's values.

Each rule recomputes, from the failing example (x, gamma, beta, dout, eps, momentum, the
running averages), what a known mistake would have returned, and names the mistake only when
the submission returned exactly that: batchnorm's backward without the path through the mean
or through the variance (or through neither: the statistics treated as constants), eps left
out, statistics over the wrong axis (layer norm over the batch), spatial batch norm reshaped
to (N*H*W, C) without moving the channels last, test mode normalizing with the batch's own
statistics, and running averages without momentum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.closeness import close
from bpverify.families.normalization.contract import BACKWARD, FORWARD, NET, NormSpec, spec_of
from bpverify.families.normalization.netfeedback import IDEAS as NET_IDEAS
from bpverify.families.normalization.netfeedback import MISTAKES as NET_MISTAKES
from bpverify.families.normalization.netfeedback import diagnose_net
from bpverify.feedback.mistakes import KnownMistake, found
from bpverify.feedback.patterns import arr
from bpverify.model import CheckResult, Diagnosis, ItemResult

__all__ = ["CATEGORIES", "IDEAS", "MISTAKES", "diagnose"]

CATEGORIES = (FORWARD, BACKWARD, NET)

IDEAS: dict[str, str] = {
    "bn-graph": "x reaches x_hat along three paths: directly, through the mean and through "
                "the variance (which also depends on the mean); add up the contributions at "
                "the operation, one from every path",
    "bn-eps": "eps sits inside the square root, x_hat = (x - mean) / sqrt(var + eps), in "
              "forward, in backward and at test time: a feature of tiny variance must not "
              "be divided by almost zero",
    "bn-axis": "batch normalization takes each feature's mean and variance over the batch "
               "(axis 0 of x of shape (N, D)): one mean per feature",
    "ln-axis": "layer normalization takes each example's mean and variance over its own "
               "features (axis 1 of x of shape (N, D)): one mean per example, never over "
               "the batch",
    "spatial-bn": "spatial batch normalization has one mean per channel, over N, H and W: "
                  "move the channels last (x.transpose(0, 2, 3, 1)) before reshaping to "
                  "(N*H*W, C), so that each column holds one channel",
    "bn-test": "at test time the batch's statistics are not used: x is normalized with the "
               "running_mean and running_var kept during training, then scaled and shifted "
               "by gamma and beta as in training",
    "gn-axes": "group norm splits each example's C channels into G groups and takes one mean "
               "and variance per example and group, over the group's C/G channels and all H·W "
               "pixels: x.reshape(N, G, C // G, H, W), statistics over axes (2, 3, 4)",
    "forward-first": "backward is the gradient of the forward: when the forward computes the "
                     "wrong statistics, an exact backward of it is wrong too, so fix the "
                     "forward first (its own check says what it computes)",
    "gn-gamma-shape": "group norm's gamma and beta come as (1, C, 1, 1), already lined up "
                      "with x's channels: gamma * x_hat + beta broadcasts as it is, where "
                      "gamma[None, :, None, None] (written for a (C,) gamma) adds axes",
    "bn-running": "the running averages decay: running = momentum * running + (1 - "
                  "momentum) * the batch's statistic, stored back in bn_param",
    **NET_IDEAS,
}
MISTAKES: tuple[KnownMistake, ...] = (
    KnownMistake("bn-no-mean-path", "bn-graph",
                 "left the path through the mean out of {what}", "a normalization's dx"),
    KnownMistake("bn-no-var-path", "bn-graph",
                 "left the path through the variance out of {what}", "a normalization's dx"),
    KnownMistake("bn-stats-constant", "bn-graph",
                 "treated the mean and variance as constants in {what}", "a normalization's dx"),
    KnownMistake("eps-missing", "bn-eps", "left eps out of {what}", "a normalization"),
    KnownMistake("bn-wrong-axis", "bn-axis",
                 "took batchnorm's statistics over the wrong axis"),
    KnownMistake("ln-batch-axis", "ln-axis", "took layernorm's statistics over the batch"),
    KnownMistake("spatial-no-transpose", "spatial-bn",
                 "reshaped spatial batchnorm's input without moving the channels last"),
    KnownMistake("bn-test-no-affine", "bn-test",
                 "left gamma and beta out of batchnorm's test mode"),
    KnownMistake("bn-test-batch-stats", "bn-test",
                 "normalized with the batch's statistics at test time"),
    KnownMistake("gn-channels-only", "gn-axes",
                 "took group norm's statistics per pixel, over the group's channels alone"),
    KnownMistake("norm-wrong-forward", "forward-first",
                 "differentiated a wrong forward exactly in {what}", "a normalization's backward"),
    KnownMistake("gn-gamma-indexed", "gn-gamma-shape",
                 "indexed group norm's (1, C, 1, 1) gamma as if it were (C,)"),
    KnownMistake("bn-running-no-momentum", "bn-running",
                 "kept the running averages without momentum"),
    *NET_MISTAKES,
)


# --- what the mistakes compute ---------------------------------------------------------------


def _same(got: Any, candidate: np.ndarray) -> bool:
    """got is what ``candidate`` computes: equal where finite, non-finite exactly where it is
    not (a division by a zero variance)."""
    g = arr(got)
    if g is None or g.shape != candidate.shape:
        return False
    fin = np.isfinite(candidate)
    if not np.array_equal(fin, np.isfinite(g)):
        return False
    return bool(close(g[fin], candidate[fin], "pattern"))


def _grouped(spec: NormSpec, a: np.ndarray, groups: int) -> np.ndarray:
    if spec.grouped:
        n, c, h, w = a.shape
        return a.reshape(n, groups, c // groups, h, w)
    return a


_AXES = {"batchnorm": (0,), "layernorm": (1,), "spatial_batchnorm": (0, 2, 3),
         "spatial_groupnorm": (2, 3, 4)}


def _normalized(x: np.ndarray, axes: tuple[int, ...], eps: float) -> tuple[np.ndarray, ...]:
    """(x_hat, 1/sqrt(var + eps)) with statistics over ``axes``; eps may be 0 (the mistake)."""
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    with np.errstate(all="ignore"):
        inv = 1.0 / np.sqrt(var + eps)
        return (x - mean) * inv, inv


class _Example:
    """The minimal example's inputs as arrays, and the layer's affine map around x_hat."""

    def __init__(self, spec: NormSpec, ex: dict[str, Any]) -> None:
        self.spec = spec
        self.x = arr(ex.get("x"))
        self.gamma, self.beta, self.dout = (arr(ex.get(k)) for k in ("gamma", "beta", "dout"))
        self.eps = float(ex.get("eps", 1e-5))
        self.groups = int(ex.get("G", 1))
        self.ok = all(a is not None for a in (self.x, self.gamma, self.beta))

    def _broadcast(self, a: np.ndarray) -> np.ndarray:
        assert self.x is not None
        return a.reshape(1, -1) if self.x.ndim == 2 else a.reshape(1, -1, 1, 1)

    def out(self, x_hat: np.ndarray) -> np.ndarray:
        assert self.gamma is not None and self.beta is not None
        return self._broadcast(self.gamma) * x_hat + self._broadcast(self.beta)

    def forward(self, axes: tuple[int, ...] | None = None, eps: float | None = None) -> Any:
        """out with the statistics over ``axes`` (default: the right ones) and ``eps``."""
        assert self.x is not None
        xs = _grouped(self.spec, self.x, self.groups)
        x_hat, _ = _normalized(xs, _AXES[self.spec.base] if axes is None else axes,
                               self.eps if eps is None else eps)
        return self.out(x_hat.reshape(self.x.shape))

    def flat(self) -> np.ndarray:
        """x.reshape(-1, C) taken straight from (N, C, H, W): the channels never moved last."""
        assert self.x is not None
        return self.x.reshape(-1, self.x.shape[1])

    def unmoved(self) -> Any:
        """Spatial batchnorm's out computed on :meth:`flat` and reshaped back."""
        assert self.x is not None and self.gamma is not None and self.beta is not None
        x_hat, _ = _normalized(self.flat(), (0,), self.eps)
        return (self.gamma * x_hat + self.beta).reshape(self.x.shape)

    def zero_variance(self) -> bool:
        """Some normalized group of the example has variance exactly 0."""
        assert self.x is not None
        xs = _grouped(self.spec, self.x, self.groups)
        return bool(np.any(xs.var(axis=_AXES[self.spec.base]) == 0.0))

    def dx(self, mean_path: bool = True, var_path: bool = True, eps: float | None = None,
           axes: tuple[int, ...] | None = None, flat: bool = False) -> Any:
        """dx with or without the paths through the mean and the variance, with eps, over
        other ``axes``, or on :meth:`flat` (spatial batch norm without moving C last)."""
        assert self.x is not None and self.gamma is not None and self.dout is not None
        if flat:
            xs, axes = self.flat(), (0,)
            dx_hat = self.dout.reshape(xs.shape) * self.gamma
        else:
            xs = _grouped(self.spec, self.x, self.groups)
            axes = _AXES[self.spec.base] if axes is None else axes
            dx_hat = _grouped(self.spec, self.dout * self._broadcast(self.gamma), self.groups)
        x_hat, inv = _normalized(xs, axes, self.eps if eps is None else eps)
        with np.errstate(all="ignore"):
            d = dx_hat.copy()
            if mean_path:
                d = d - dx_hat.mean(axis=axes, keepdims=True)
            if var_path:
                d = d - x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)
            return (d * inv).reshape(self.x.shape)


# --- the rules -------------------------------------------------------------------------------


def _forward(spec: NormSpec, e: _Example, got: Any) -> Diagnosis | None:
    if _same(got, e.forward(eps=0.0)):
        return found("eps-missing", "out is (x - mean) / sqrt(var) without eps: a feature "
                     "of tiny variance is blown up", subject="the forward")
    if spec.base == "batchnorm" and _same(got, e.forward(axes=(1,))):
        return found("bn-wrong-axis", "out has each example normalized over its features "
                     "(axis 1): that is layer norm, not batch norm")
    if spec.base == "layernorm" and _same(got, e.forward(axes=(0,))):
        return found("ln-batch-axis", "out has each feature normalized over the batch "
                     "(axis 0): that is batch norm, not layer norm")
    if spec.base == "spatial_batchnorm":
        if _same(got, e.unmoved()):
            return found("spatial-no-transpose", "out is batch norm of x.reshape(N*H*W, C) "
                         "taken straight from (N, C, H, W): each column mixes channels and "
                         "pixels")
        if _same(got, e.forward(axes=(0,))):
            return found("bn-wrong-axis", "out has statistics over the batch only, one per "
                         "channel and pixel, where spatial batch norm pools N, H and W")
    if spec.base == "spatial_groupnorm" and _same(got, e.forward(axes=(2,))):
        return found("gn-channels-only", "out normalizes each pixel over its group's channels "
                     "alone, where group norm pools the group's channels and all its pixels")
    return None


def _test_mode(e: _Example, ex: dict[str, Any], got: Any) -> Diagnosis | None:
    if _same(got, e.forward()):
        return found("bn-test-batch-stats", "in test mode out is normalized with the batch's "
                     "own mean and variance, not running_mean and running_var")
    rm, rv = arr(ex.get("running_mean")), arr(ex.get("running_var"))
    if rm is None or rv is None or e.x is None:
        return None
    shape = (1, -1) if e.x.ndim == 2 else (1, -1, 1, 1)
    with np.errstate(all="ignore"):
        no_eps = e.out((e.x - rm.reshape(shape)) / np.sqrt(rv.reshape(shape)))
    if _same(got, no_eps):
        return found("eps-missing", "in test mode out is (x - running_mean) / "
                     "sqrt(running_var) without eps", subject="test mode")
    x_hat = (e.x - rm.reshape(shape)) / np.sqrt(rv.reshape(shape) + e.eps)
    if _same(got, x_hat) and not _same(e.out(x_hat), x_hat):
        return found("bn-test-no-affine", "in test mode out is x normalized with the running "
                     "averages, but never scaled by gamma nor shifted by beta")
    if e.spec.base == "spatial_batchnorm" and e.gamma is not None and e.beta is not None:
        flat = e.gamma * (e.flat() - rm) / np.sqrt(rv + e.eps) + e.beta
        if _same(got, flat.reshape(e.x.shape)):
            return found("spatial-no-transpose", "in test mode out is computed on "
                         "x.reshape(N*H*W, C) taken straight from (N, C, H, W)")
    return None


def _running(spec: NormSpec, e: _Example, ex: dict[str, Any],
             got: dict[str, Any]) -> Diagnosis | None:
    m = float(ex.get("momentum", 0.9))
    rm, rv = arr(ex.get("running_mean")), arr(ex.get("running_var"))
    if e.x is None or rm is None or rv is None:
        return None
    old = (rm, rv)
    axes = _AXES[spec.base]
    stats = [e.x.mean(axis=axes), e.x.var(axis=axes)]
    names = ("running_mean", "running_var")
    if spec.base == "spatial_batchnorm" and all(
            _same(got.get(n), m * o + (1 - m) * s) for n, o, s in
            zip(names, old, (e.flat().mean(axis=0), e.flat().var(axis=0)))):
        return found("spatial-no-transpose", "the running averages are those of "
                     "x.reshape(N*H*W, C) taken straight from (N, C, H, W), each column "
                     "mixing channels and pixels")
    if m != 0.0 and all(_same(got.get(n), s) for n, s in zip(names, stats)):
        return found("bn-running-no-momentum", "the running averages are the batch's own "
                     "mean and variance: momentum never enters")
    if m not in (0.0, 1.0) and all(_same(got.get(n), m * o + s)
                                   for n, o, s in zip(names, old, stats)):
        return found("bn-running-no-momentum", "the running averages are momentum * running "
                     "+ the batch's statistic, without the factor (1 - momentum)")
    if m != 0.5 and all(_same(got.get(n), (1 - m) * o + m * s)
                        for n, o, s in zip(names, old, stats)):
        return found("bn-running-no-momentum", "the running averages weigh the batch by "
                     "momentum and the old value by (1 - momentum): the two are swapped")
    return None


def _backward(e: _Example, got: Any) -> Diagnosis | None:
    """The one mistake whose dx got is; None when none is, or when several are (an example
    where two mistakes give the same dx shows neither)."""
    if e.dout is None:
        return None
    base = e.spec.base
    rules: list[tuple[bool, str, str, str]] = [
        (True, "bn-no-mean-path", "dx lacks the term -mean(dx_hat) / std: the gradient "
         "through the mean was never added", "dx"),
        (True, "bn-no-var-path", "dx lacks the term through the variance, -x_hat * "
         "mean(dx_hat * x_hat) / std", "dx"),
        (True, "bn-stats-constant", "dx is gamma * dout / std, as if the mean and the "
         "variance did not depend on x", "dx"),
        (True, "eps-missing", "dx divides by sqrt(var) without eps", "backward"),
        (base == "batchnorm", "bn-wrong-axis", "dx is the gradient of a normalization of each "
         "example over its features (axis 1): layer norm's, not batch norm's", ""),
        (base == "layernorm", "ln-batch-axis", "dx is the gradient of a normalization of each "
         "feature over the batch (axis 0): batch norm's, not layer norm's", ""),
        (base == "spatial_batchnorm", "spatial-no-transpose", "dx is batch norm's gradient on "
         "x.reshape(N*H*W, C) taken straight from (N, C, H, W), reshaped back", ""),
    ]
    candidates = {
        "bn-no-mean-path": lambda: e.dx(mean_path=False),
        "bn-no-var-path": lambda: e.dx(var_path=False),
        "bn-stats-constant": lambda: e.dx(mean_path=False, var_path=False),
        "eps-missing": lambda: e.dx(eps=0.0),
        "bn-wrong-axis": lambda: e.dx(axes=(1,)),
        "ln-batch-axis": lambda: e.dx(axes=(0,)),
        "spatial-no-transpose": lambda: e.dx(flat=True),
    }
    assert e.gamma is not None and e.dout is not None
    scale = float(np.max(np.abs(e.dout * e._broadcast(e.gamma)), initial=0.0)) or 1.0

    def telling(candidate: np.ndarray) -> bool:
        """Not zero all over: on a degenerate example (dout an affine function of x_hat) some
        candidates are 0 up to rounding, as is any dx that never got its terms."""
        with np.errstate(all="ignore"):
            return bool(not np.all(np.isfinite(candidate))
                        or np.max(np.abs(candidate), initial=0.0) > 1e-9 * scale)

    seen = [(m, saw, subject) for applies, m, saw, subject in rules
            if applies and _same(got, cand := candidates[m]()) and telling(cand)]
    if len({m for m, _, _ in seen}) != 1:
        return None
    mistake, saw, subject = seen[0]
    return found(mistake, saw, subject=subject)


def _extra_axes(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """Group norm's out with axes in front of x's shape: gamma (1, C, 1, 1) indexed as (C,)."""
    f = check.facts
    got, exp = tuple(f.got_shape or ()), tuple(f.expected_shape or ())
    if (item.name != "spatial_groupnorm_forward" or f.value != "out" or len(exp) != 4
            or len(got) <= 4 or got[-4:] != exp or any(n != 1 for n in got[:-4])):
        return None
    return found("gn-gamma-indexed", f"out has shape {got}, x's shape with {len(got) - 4} axes "
                 "in front: gamma and beta, (1, C, 1, 1) already, got more axes, as "
                 "gamma[None, :, None, None] gives them", subject="out")


def diagnose(check: CheckResult, item: ItemResult) -> Diagnosis | None:
    """The normalization mistake behind a failed check, or None (the shared rules then)."""
    if item.category == NET:
        return diagnose_net(check, item)
    if check.kind == "wrong-shape":
        return _extra_axes(check, item)
    if check.kind not in ("wrong-values", "numerical", "not-finite"):
        return None
    spec = spec_of(item.name)
    ex = dict(check.example or {})
    e = _Example(spec, ex)
    if not e.ok:
        return None
    if check.kind == "not-finite":
        if not e.zero_variance():
            return None
        value = check.facts.value or "a value"
        return found("eps-missing", f"{value} has nan or inf where the example has a group of "
                     "variance exactly 0: only a division by sqrt(var) without eps makes "
                     "that", subject=value)
    got = dict(check.got or {})
    if check.kind == "numerical":
        # Backward disagrees with the submission's own forward: if the forward is the wrong
        # one, its mistake is the one to fix (the forward check says which).
        return None
    if check.name == "forward":
        return _forward(spec, e, got.get("out"))
    if check.name == "test mode":
        return _test_mode(e, ex, got.get("out"))
    if check.name == "running averages":
        return _running(spec, e, ex, got)
    if check.name == "backward":
        own = next((c for c in item.checks if c.name == "numerical"), None)
        first = _backward(e, got.get("dx"))
        if first is None and own is not None and own.status in ("passed", "skipped"):
            # The numerical check judges dx only where the forward is right: it passed (dx
            # follows the forward there) or judged nothing (the forward is never right).
            where = ("dx passes the numerical check where your forward is right, so it follows "
                     "a forward that is wrong elsewhere" if own.status == "passed" else
                     "your forward is wrong on every example, so no backward of it can match")
            return found("norm-wrong-forward", f"{where}: the forward does not take the layer's "
                         f"statistics ({spec.over})", subject="dx")
        return first
    return None
