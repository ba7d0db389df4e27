"""The drawing of a failed normalization check: the staged graph the course teaches.

Batch norm's forward pass in stages (mean, x - μ, square, mean again for the variance, + ε, √,
1/x, multiply, × γ, + β), at the minimal example, for the one group of values that is
normalized together and holds the largest error (a feature column for batch norm, an example's
row for layer norm, a channel or a group for the spatial ones).  Each wire carries its value
(green) and the gradient the chain rule sends back along it (red), computed here from the
example; at x the submission's own dx, as the check saw it, stands beside the right one.

The stage of the mistake is ringed only when the check's diagnosis names it (a diagnosis that
replayed the mistake exactly): without the path through the mean the mean is ringed and the
wire x → mean dashed, and so on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpverify.families.normalization.contract import spec_of
from bpverify.feedback.patterns import arr
from bpverify.model import CheckResult, ItemResult
from bpverify.teaching.figures import Figure, Graph, Stage, numbers

__all__ = ["figure"]

#: Diagnosis -> (stages ringed, the wire whose gradient never came back: (stage, input), tag).
_RINGS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...], str]] = {
    "bn-no-mean-path": (("mu",), (("mu", "x"),), "no gradient back"),
    "bn-no-var-path": (("var",), (("sq", "xmu"),), "no gradient back"),
    "bn-stats-constant": (("mu", "var"), (("mu", "x"), ("sq", "xmu")), "treated as constant"),
    "eps-missing": (("vpe",), (), "ε left out"),
    "bn-wrong-axis": (("mu", "var"), (), "wrong axis"),
    "ln-batch-axis": (("mu", "var"), (), "wrong axis"),
    "spatial-no-transpose": (("mu", "var"), (), "channels mixed"),
    "bn-test-batch-stats": (("mu", "var"), (), "yours: the batch's"),
}


#: The stages on the main line x → x − μ → × → ×γ → +β; the statistics run below it.
_MAIN = ("x", "xmu", "xhat", "gx", "out")


def _group(name: str, a: np.ndarray, where: tuple[int, ...], groups: int
           ) -> tuple[np.ndarray, str]:
    """The values normalized together that hold ``where``, and what they are, in words."""
    if name.startswith("batchnorm"):
        j = where[1] if len(where) > 1 else 0
        return a[:, j], f"feature {j} (column x[:, {j}])"
    if name.startswith("layernorm"):
        i = where[0] if where else 0
        return a[i, :], f"example {i} (row x[{i}, :])"
    if name.startswith("spatial_batchnorm"):
        c = where[1] if len(where) > 1 else 0
        return a[:, c].reshape(-1), f"channel {c} (x[:, {c}], every example and pixel)"
    n, c = (where[0], where[1]) if len(where) > 1 else (0, 0)
    size = a.shape[1] // groups
    g = c // size
    return (a[n, g * size:(g + 1) * size].reshape(-1),
            f"group {g} of example {n} (x[{n}, {g * size}:{(g + 1) * size}])")


def _gamma(name: str, gamma: np.ndarray, x: np.ndarray, where: tuple[int, ...],
           groups: int) -> np.ndarray:
    """γ for each value of the group, as the layer applies it."""
    g = gamma.reshape(-1)
    if name.startswith("batchnorm"):
        return np.full(x.shape[0], g[where[1] if len(where) > 1 else 0])
    if name.startswith("layernorm"):
        return g
    if name.startswith("spatial_batchnorm"):
        c = where[1] if len(where) > 1 else 0
        return np.full(x[:, c].size, g[c])
    c = where[1] if len(where) > 1 else 0
    size = x.shape[1] // groups
    k = c // size
    return np.repeat(g[k * size:(k + 1) * size], x.shape[2] * x.shape[3])


def _stages(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
            dout: np.ndarray | None, running: tuple[float, float] | None = None
            ) -> dict[str, tuple[Any, Any]]:
    """Each stage's value and, given dout, the gradient on its output (Kratzert's graph);
    ``running``: test mode's (running_mean, running_var) in place of the batch's."""
    n = x.size
    mu = x.mean() if running is None else running[0]
    xmu = x - mu
    sq = xmu ** 2
    var = sq.mean() if running is None else running[1]
    vpe = var + eps
    std = np.sqrt(vpe)
    ivar = 1.0 / std
    xhat = xmu * ivar
    gx = gamma * xhat
    out = gx + beta
    values = {"x": x, "mu": mu, "xmu": xmu, "sq": sq, "var": var, "vpe": vpe, "std": std,
              "ivar": ivar, "xhat": xhat, "gx": gx, "out": out}
    if dout is None:
        return {k: (v, None) for k, v in values.items()}
    dxhat = dout * gamma
    divar = np.sum(dxhat * xmu)
    dstd = -divar / std ** 2
    dvpe = 0.5 * dstd / std
    dsq = np.full(n, dvpe / n)
    dxmu = dxhat * ivar + 2 * xmu * dsq
    dmu = -np.sum(dxmu)
    dx = dxmu + dmu / n
    grads = {"x": dx, "mu": dmu, "xmu": dxmu, "sq": dsq, "var": dvpe, "vpe": dvpe,
             "std": dstd, "ivar": divar, "xhat": dxhat, "gx": dout, "out": dout}
    return {k: (values[k], grads[k]) for k in values}


def figure(item: ItemResult, check: CheckResult) -> Figure | None:
    """The staged graph of the failing group, or None when the check holds no values."""
    spec = spec_of(item.name)
    ex = dict(check.example or {})
    x, gamma, beta = (arr(ex.get(k)) for k in ("x", "gamma", "beta"))
    if x is None or gamma is None or beta is None or x.ndim not in (2, 4):
        return None
    if check.name not in ("backward", "forward", "test mode"):
        return None
    backward = check.name == "backward"
    value = "dx" if backward else "out"
    exp, got = dict(check.expected or {}), dict(check.got or {})
    if value not in exp or value not in got:
        return None
    e, g = arr(exp[value]), arr(got[value])
    if e is None or g is None or e.shape != x.shape or g.shape != x.shape:
        return None
    groups = int(ex.get("G", 1))
    where = next((m.index for m in check.mismatches if m.value == value), None)
    if where is None:
        where = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(g - e)), x.shape))
    xs, what = _group(spec.base, x, where, groups)
    gm = _gamma(spec.base, gamma, x, where, groups)
    bt = _gamma(spec.base, beta, x, where, groups)
    dout = arr(ex.get("dout")) if backward else None
    if backward and (dout is None or dout.shape != x.shape):
        return None
    eps = float(ex.get("eps", 1e-5))
    d = _group(spec.base, dout, where, groups)[0] if dout is not None else None
    running = _running(spec.base, ex, where) if check.name == "test mode" else None
    if check.name == "test mode" and running is None:
        return None
    st = _stages(xs, gm, bt, eps, d, running)
    mistake = check.diagnosis.mistake if check.diagnosis is not None else ""
    rings, lost, tag = _RINGS.get(mistake, ((), (), ""))
    yours = _group(spec.base, g, where, groups)[0]
    right = _group(spec.base, e, where, groups)[0]

    def stage(key: str, label: str, *inputs: str) -> Stage:
        v, grad = st[key]
        return Stage(key, label, inputs, value=numbers(v), row=0 if key in _MAIN else 1,
                     grad=numbers(grad) if grad is not None else "",
                     ring=key in rings, tag=tag if key in rings else "",
                     lost=tuple(w for s, w in lost if s == key))

    stages = [
        Stage("x", "x", value=numbers(xs), row=0,
              grad=numbers(right) if backward else "",
              got=numbers(yours) if backward else ""),
        stage("mu", "mean", "x"), stage("xmu", "x − μ", "x", "mu"), stage("sq", "²", "xmu"),
        stage("var", "mean", "sq"), stage("vpe", "+ε", "var"), stage("std", "√", "vpe"),
        stage("ivar", "1/x", "std"), stage("xhat", "×", "xmu", "ivar"),
        stage("gx", "×γ", "xhat"), stage("out", "+β", "gx"),
    ]
    if running is not None:  # test mode: the statistics are the running averages
        stages = [stages[0], _leaf(stage("mu", "running_mean")), stages[2],
                  _leaf(stage("var", "running_var"), row=2), *stages[5:]]
    if not backward:  # the forward's own output, as the check saw it
        stages[-1] = Stage("out", "+β", ("gx",), value=numbers(st["out"][0]), row=0)
    graph = Graph(tuple(stages), output="out")
    callout = [f"{value} of {what}: yours {numbers(yours)}, the chain rule's "
               f"{numbers(right)}" if backward else
               f"out of {what}: yours {numbers(yours)}, expected {numbers(right)}"]
    callout += _story(mistake, st, xs.size)
    return Figure(
        title=f"{item.name}, {check.name}: the staged graph of {what}",
        parts=(graph,),
        callout=tuple(callout),
        intro=(f"{spec.base}'s forward pass in stages, at the minimal example, for {what} "
               f"(eps = {eps:g}): each stage's value"
               + (", and the gradient the chain rule sends back along it." if backward
                  else ".")),
    )


def _leaf(s: Stage, row: int | None = None) -> Stage:
    """``s`` as an input of the graph (test mode's running averages)."""
    return Stage(s.key, s.label, (), value=s.value, ring=s.ring, tag=s.tag,
                 row=s.row if row is None else row)


def _running(base: str, ex: dict[str, Any], where: tuple[int, ...]) -> tuple[float, float] | None:
    """(running_mean, running_var) of the drawn feature or channel, from the example."""
    rm, rv = arr(ex.get("running_mean")), arr(ex.get("running_var"))
    if rm is None or rv is None or base not in ("batchnorm", "spatial_batchnorm"):
        return None
    k = where[1] if len(where) > 1 else 0
    rm, rv = rm.reshape(-1), rv.reshape(-1)
    return (float(rm[k]), float(rv[k])) if k < rm.size and k < rv.size else None


def _story(mistake: str, st: dict[str, tuple[Any, Any]], n: int) -> list[str]:
    """The ringed stage's part of the story, in the example's numbers."""
    (var, dvar), (_, dmu), (xmu, _) = st["var"], st["mu"], st["xmu"]
    if dmu is None:  # a forward check
        if mistake == "eps-missing":
            return [f"σ² = {numbers(var)}: without ε, x − μ is divided by √{numbers(var)}"]
        return []
    if mistake == "bn-no-mean-path":
        return [f"the mean's gradient dμ = {numbers(dmu)} never came back to x: each of the "
                f"{n} values lacks dμ/{n} = {numbers(dmu / n)}"]
    if mistake == "bn-no-var-path":
        return [f"the variance's gradient dσ² = {numbers(dvar)} never came back through "
                f"(x − μ)²: dx lacks 2(x − μ)·dσ²/{n} = {numbers(2 * xmu * dvar / n)}"]
    if mistake == "bn-stats-constant":
        return ["neither the mean's nor the variance's gradient came back to x"]
    if mistake == "eps-missing":
        return [f"σ² = {numbers(var)}: without ε the gradient divides by √σ² alone"]
    return []
