"""The book's BatchNormalization (chapter 6): ``BatchNormalization(gamma, beta)``,
``forward(x, train_flg=True)``, ``backward(dout)`` keeping ``dgamma`` and ``dbeta``.

Training normalizes each feature over the batch, ``x_hat = (x - mean) / sqrt(var + eps)``, and
returns ``gamma * x_hat + beta``; the running averages decay, ``running = momentum * running +
(1 - momentum) * the batch's statistic``; at test time (``train_flg=False``) x is normalized
with them.  4-D input (a convolution's output) is reshaped to (N, -1), one feature per
element, as the book's class does (judged where the class reshapes); a class that normalizes
each channel over N, H and W instead (spatial batch normalization, gamma of shape (C,)) is
right too.

eps is the class's own: the book writes 10e-7, learners 1e-5 to 1e-8.  It is read from the
class's forward (each feature gives ``sqrt(var + eps) = gamma (x - mean) / (out - beta)``) and
accepted anywhere from 0 to :data:`MAX_EPS`, inside the square root or added to it; the oracle
then uses it, in forward, backward and test mode alike.  The low-variance check gives a
feature of one value, where eps is what keeps x_hat finite.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st

from bpverify import strategies
from bpverify.closeness import Tolerance, tolerance_for, working_dtype
from bpverify.families.layer_classes.checks.chapter7 import INTERFACE, Layer7, finite, run
from bpverify.grading.checks.base import Case, Check, CheckFailed, judge, rounded
from bpverify.grading.oracles import float64
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError

__all__ = ["BATCHNORM", "MAX_EPS", "batchnorm_checks", "eps_of"]

#: The largest eps accepted as "a small number that keeps the division finite".
MAX_EPS = 1e-3
#: The book's eps (10e-7), used when the forward's own cannot be read.
BOOK_EPS = 1e-6


@st.composite
def _case(draw: st.DrawFn, four_d: bool = False, low_var: bool = False) -> Case:
    n = draw(st.integers(2, 5))
    # The low-variance case keeps a second feature, from which eps is read.
    rest = ((draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            if four_d else (draw(st.integers(2 if low_var else 1, 5)),))
    shape = (n, *rest)
    d = int(np.prod(rest))
    # A different offset per row: no feature has one value (but the low-variance case's).
    rows = np.arange(n, dtype=np.float64).reshape((n,) + (1,) * len(rest)) * 0.37
    batches = {}
    for key in ("x", "x2", "x3"):
        batches[key] = draw(strategies.values(shape, lo=-3.0, hi=3.0)) + rows
    if low_var:
        flat = batches["x"].reshape(n, d)
        flat[:, draw(st.integers(0, d - 1))] = draw(st.sampled_from([0.0, 1.5, -2.0]))
        batches["x"] = flat.reshape(shape)
    sign = np.where(draw(strategies.values((d,), lo=-1.0, hi=1.0)) < 0, -1.0, 1.0)
    case = {**batches,
            "gamma": sign * draw(strategies.values((d,), lo=0.5, hi=2.0)),
            "beta": draw(strategies.values((d,), lo=-2.0, hi=2.0)),
            "dout": draw(strategies.values(shape, lo=-3.0, hi=3.0))}
    if four_d:  # one gamma per channel, for a class that normalizes each channel (spatially)
        case["gamma_c"] = draw(strategies.values((rest[0],), lo=0.5, hi=2.0))
        case["beta_c"] = draw(strategies.values((rest[0],), lo=-2.0, hi=2.0))
    return case


@functools.cache
def bn_cases(four_d: bool = False, low_var: bool = False) -> st.SearchStrategy[Case]:
    """x, x2, x3 (three batches), gamma, beta (D,) and dout; 4-D: gamma of C*H*W."""
    return _case(four_d, low_var)


def _flat(v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a.reshape(a.shape[0], -1)


def _normalized(x: Any, gamma: Any, beta: Any, eps: Any, outside: Any) -> Any:
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc ** 2).mean(axis=0)
    std = jnp.where(outside, jnp.sqrt(var) + eps, jnp.sqrt(var + eps))
    return gamma * xc / std + beta


@functools.cache
def _train_fn() -> Any:
    def go(x: Any, gamma: Any, beta: Any, eps: Any, outside: Any, dout: Any) -> Any:
        out, pull = jax.vjp(lambda x, g, b: _normalized(x, g, b, eps, outside), x, gamma, beta)
        return out, pull(dout)

    return go


def train_oracle(x: Any, gamma: Any, beta: Any, dout: Any, eps: float = BOOK_EPS,
                 outside: bool = False) -> tuple[Any, list[Any]]:
    """Training mode on (N, D) or 4-D x (reshaped to (N, -1)): out and (dx, dgamma, dbeta)."""
    shape = np.shape(x)
    with float64():
        out, (dx, dg, db) = _train_fn()(jnp.asarray(_flat(x)), jnp.asarray(gamma, jnp.float64),
                                        jnp.asarray(beta, jnp.float64), eps, outside,
                                        jnp.asarray(_flat(dout)))
    return (np.asarray(out).reshape(shape),
            [np.asarray(dx).reshape(shape), np.asarray(dg), np.asarray(db)])


def eps_of(x: Any, gamma: Any, beta: Any, out: Any) -> tuple[float, bool] | None:
    """(eps, added outside the square root) that the class's training forward used, read from
    its output; None when it cannot be read or lies outside [0, MAX_EPS]."""
    xf, o = _flat(x), _flat(out)
    if o.shape != xf.shape:
        return None
    xc = xf - xf.mean(axis=0)
    var = (xc ** 2).mean(axis=0)
    g, b = np.asarray(gamma, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = g * xc / (o - b)
    good = np.isfinite(std) & (np.abs(xc) > 0.05 * np.sqrt(var))
    if not good.any():
        return None
    # Rows whose x is at its feature's mean say nothing (0 / 0): left out of each median.
    est = np.nanmedian(np.where(good, std, np.nan)[:, good.any(axis=0)], axis=0)
    v = var[good.any(axis=0)]
    inside = float(np.median(est ** 2 - v))
    outside = float(np.median(est - np.sqrt(v)))
    slack = 1e-9
    spread_in = np.ptp(est ** 2 - v) if est.size else 0.0
    spread_out = np.ptp(est - np.sqrt(v)) if est.size else 0.0
    if -slack <= outside <= MAX_EPS and spread_out < spread_in:
        return max(outside, 0.0), True
    if -slack <= inside <= MAX_EPS:
        return max(inside, 0.0), False
    return None


def _eps(case: Case, out: Any, key: str = "x") -> tuple[float, bool]:
    return eps_of(case[key], case["gamma"], case["beta"], out) or (BOOK_EPS, False)


def _oracle(case: Case, dtype: np.dtype[Any], out: Any) -> tuple[Any, list[Any],
                                                                dict[str, Any]]:
    r = lambda v: rounded(v, dtype)  # noqa: E731
    eps, outside = _eps(case, out)
    y, (dx, dg, db) = train_oracle(r(case["x"]), r(case["gamma"]), r(case["beta"]),
                                   r(case["dout"]), eps, outside)
    return y, [dx], {"dgamma": dg, "dbeta": db}


def _shape(case: Case) -> tuple[int, ...]:
    return tuple(np.shape(case["x"]))


def eps_slack(case: Case, tol: Tolerance) -> Tolerance:
    """The tolerance widened by what eps can change: a backward that divides by var where its
    forward divided by var + eps (or drops eps elsewhere) differs from the exact gradient by
    about eps / var of the gradient's scale, gamma * dout / std.  That is not a mistake of the
    chain rule: the low-variance check judges eps on its own."""
    x = _flat(case["x"])
    var = float(np.min(x.var(axis=0), initial=np.inf))
    if not np.isfinite(var) or var <= 0:
        return tol
    k = 8 * MAX_EPS_SLACK / var
    scale = float(np.max(np.abs(case["gamma"]))) * float(np.max(np.abs(case["dout"]),
                                                                  initial=0.0))
    return Tolerance(rtol=max(tol.rtol, k), atol=max(tol.atol, k),
                     floor=max(tol.floor, k * scale / np.sqrt(var)), reason=tol.reason)


#: The eps whose omission in backward alone is not charged there (learners' 1e-5 at most).
MAX_EPS_SLACK = 1e-5

BATCHNORM = Layer7("BatchNormalization", bn_cases, _oracle, _shape, "the shape of x",
                   flag=True,
                   grad_words="the chain rule through the batch's mean and variance",
                   widen=eps_slack)


# --- running averages and test mode ----------------------------------------------------------


def _steps(case: Case) -> list[dict[str, Any]]:
    return [{"forward": [case["x"]], "flag": True}, {"forward": [case["x2"]], "flag": True},
            {"forward": [case["x3"]], "flag": False}]


def _stats(x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xf = _flat(x)
    return xf.mean(axis=0), xf.var(axis=0), xf.var(axis=0, ddof=1)


def _running_expected(before: dict[str, Any], x: Any) -> dict[str, list[np.ndarray]]:
    """Every accepted value of the running averages after a training forward on x: momentum
    weighs the old average (the book's 0.9), or the new statistic when it is the smaller
    weight (PyTorch's momentum = 0.1); the variance biased (the book's) or unbiased."""
    m = before.get("momentum")
    m = 0.9 if m is None else float(m)
    keep = max(m, 1 - m)
    mean, var, unbiased = _stats(x)
    rm, rv = (np.asarray(before[k], dtype=np.float64) for k in ("running_mean", "running_var"))
    return {"running_mean": [keep * rm + (1 - keep) * mean],
            "running_var": [keep * rv + (1 - keep) * var, keep * rv + (1 - keep) * unbiased]}


def _found(reply: dict[str, Any]) -> bool:
    running = reply.get("running") or {}
    return all(running.get(k) is not None and np.ndim(running[k]) >= 1
               for k in ("running_mean", "running_var"))


def running_averages(ex: Executor, case: Case) -> bool:
    if not BATCHNORM.usable(ex):
        return False
    first, second, _ = run(ex, BATCHNORM.name, case, _steps(case))
    if not (_found(first) and _found(second)):
        return False  # no running averages under a name like running_mean: test mode judges
    where = "BatchNormalization.forward(x, train_flg=True) (its second call)"
    got = {k: np.asarray(second["running"][k], dtype=np.float64)
           for k in ("running_mean", "running_var")}
    accepted = _running_expected(first["running"], case["x2"])
    expected = {}
    for key, options in accepted.items():
        if np.shape(got[key]) != np.shape(options[0]):
            raise CheckFailed("wrong-shape", f"{where}: self.{key} has shape "
                              f"{np.shape(got[key])}; expected {np.shape(options[0])}, one "
                              "value per feature", facts=Facts(where=where, value=key))
        expected[key] = min(options, key=lambda e: float(np.max(np.abs(e - got[key]))))
    names = list(expected)
    dtype = working_dtype(*(second["running"][n] for n in names))
    judge(where, names, [got[n] for n in names], [expected[n] for n in names],
          tolerance_for(dtype),
          "running = momentum * running + (1 - momentum) * the batch's statistic")
    return True


def test_mode(ex: Executor, case: Case) -> bool:
    if not BATCHNORM.usable(ex):
        return False
    first, second, third = run(ex, BATCHNORM.name, case, _steps(case))
    where = "BatchNormalization.forward(x, train_flg=False)"
    out = third["out"]
    if out is None:
        raise CheckFailed("bad-return", f"{where} returned None; expected out",
                          facts=Facts(where=where, value="out", returned_none=True))
    if np.shape(out) != np.shape(case["x3"]):
        return False  # the forward check says what is wrong with its shape
    finite(out, "out", where)
    eps, outside = _eps(case, first["out"])
    if _found(second):
        rm = np.asarray(second["running"]["running_mean"], dtype=np.float64)
        rv = np.asarray(second["running"]["running_var"], dtype=np.float64)
        what = "x normalized with the running averages the instance keeps"
    else:  # the book's: zeros, then two decays with momentum 0.9
        start = {"running_mean": 0.0, "running_var": 0.0, "momentum": None}
        one = _running_expected(start, case["x"])
        two = _running_expected({"running_mean": one["running_mean"][0],
                                 "running_var": one["running_var"][0],
                                 "momentum": None}, case["x2"])
        rm, rv = two["running_mean"][0], two["running_var"][0]
        what = "x normalized with the running averages (from zeros, momentum 0.9)"
    std = np.sqrt(rv) + eps if outside else np.sqrt(rv + eps)
    gamma, beta = (np.asarray(case[k], dtype=np.float64) for k in ("gamma", "beta"))
    with np.errstate(divide="ignore", invalid="ignore"):
        exp = (gamma * (_flat(case["x3"]) - rm) / std + beta).reshape(np.shape(out))
    dtype = working_dtype(out)
    judge(where, ["out"], [out], [exp], tolerance_for(dtype), what)
    return True


def _low_variance(ex: Executor, case: Case) -> bool:
    """Forward is right and backward finite where a feature has one value (its gradient there
    is gamma / sqrt(eps) times a centred dout: its values hang on eps's last digits, so only
    their being finite is judged)."""
    if not BATCHNORM.usable(ex):
        return False
    fwd, bwd = run(ex, BATCHNORM.name, case, BATCHNORM.steps(case))
    BATCHNORM.judge_forward(case, fwd["out"])
    raw = bwd["grads"]
    if isinstance(raw, (tuple, list)) and len(raw) == 1:
        raw = raw[0]
    if raw is not None and np.shape(raw) == np.shape(case["x"]):
        finite(raw, "dx", "BatchNormalization.backward(dout)")
    return True


def _rows(v: Any) -> np.ndarray:
    """(N, C, H, W) -> (N*H*W, C): one column per channel."""
    a = np.asarray(v, dtype=np.float64)
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _spatial(ex: Executor, case: Case) -> bool:
    """Whether the class normalizes each channel over N, H and W (spatial batch normalization,
    with one gamma per channel) rightly: another reading of 4-D input than the book's, as
    right."""
    given = {**case, "gamma": case["gamma_c"], "beta": case["beta_c"]}
    try:
        fwd, bwd = run(ex, BATCHNORM.name, given, BATCHNORM.steps(given))
        out, raw = fwd["out"], bwd["grads"]
        if isinstance(raw, (tuple, list)) and len(raw) == 1:
            raw = raw[0]
        if np.shape(out) != np.shape(case["x"]) or np.shape(raw) != np.shape(case["x"]):
            return False
        rows = {"x": _rows(case["x"]), "gamma": case["gamma_c"], "beta": case["beta_c"],
                "dout": _rows(case["dout"])}
        BATCHNORM.judge_forward(rows, _rows(out))
        BATCHNORM.judge_backward(rows, _rows(out), _rows(raw), bwd["params"])
    except (CheckFailed, StudentError):
        return False
    return True


def batchnorm_checks(handles_4d: Any) -> list[Check]:
    """The shared checks, then test mode, the running averages, low variance and 4-D input
    (``handles_4d(ex)``: whether the class reshapes 4-D input, as the book's does)."""
    four = Layer7(BATCHNORM.name, lambda: bn_cases(four_d=True), _oracle, _shape,
                  "the shape of x", flag=True, grad_words=BATCHNORM.grad_words,
                  widen=eps_slack)

    def four_d(ex: Executor, case: Case) -> bool:
        if not four.usable(ex) or not handles_4d(ex):
            return False
        try:
            fwd, bwd = run(ex, four.name, case, four.steps(case))
            four.judge_forward(case, fwd["out"])
            four.judge_backward(case, fwd["out"], bwd["grads"], bwd["params"])
        except (CheckFailed, StudentError) as book:
            if not _spatial(ex, case):
                raise book from None
        return True

    cases = bn_cases()
    return [
        *BATCHNORM.checks(),
        Check("test mode", cases, test_mode, "train_flg=False normalizes with the running "
              "averages, not the batch's statistics", unjudged=INTERFACE),
        Check("running averages", cases, running_averages,
              "running = momentum * running + (1 - momentum) * the batch's mean and variance",
              unjudged=f"{INTERFACE}, or the instance keeps no running averages under a name "
              "like running_mean and running_var (the test mode check judges their use)"),
        Check("low variance", bn_cases(low_var=True), _low_variance,
              "a feature of one value in the batch: eps keeps x_hat finite",
              unjudged=INTERFACE),
        Check("4-d input", bn_cases(four_d=True), four_d,
              "x of shape (N, C, H, W) is normalized as (N, C*H*W), as after a convolution "
              "(or per channel, spatially)",
              unjudged=f"{INTERFACE}, or this BatchNormalization takes (N, D) input only "
                       "(forward does not reshape x)"),
    ]
