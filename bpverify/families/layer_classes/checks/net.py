"""The book's two-layer net, built from the submission's own layer classes.

A failure of the net names the guilty call ("Affine2.backward"), the first that is wrong on
the very inputs the net gave it, and the value it got wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpverify import strategies
from bpverify.contract import ContractError
from bpverify.families.layer_classes.checks.book import (
    book_dx_shift,
    close_to,
    delta_of,
    judge_loss_value,
)
from bpverify.families.layer_classes.checks.facts import interface_of
from bpverify.families.layer_classes.contract import NET_LAYERS
from bpverify.grading import oracles
from bpverify.grading.checks.base import (
    Case,
    Check,
    CheckFailed,
    expect_finite,
    expect_shape,
    judge,
    judge_numerical,
    nearby,
)
from bpverify.grading.compare import tolerance_for, working_dtype
from bpverify.model import Facts
from bpverify.submission import Executor, StudentError

__all__ = ["Blame", "blame_layers", "layer_net_checks"]


@st.composite
def _net_case(draw: st.DrawFn) -> Case:
    n, d, h, c = (draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5)),
                  draw(st.integers(2, 4)))
    params = {"W1": draw(strategies.values((d, h), lo=-2.0, hi=2.0)),
              "b1": draw(strategies.values((h,), lo=-2.0, hi=2.0)),
              "W2": draw(strategies.values((h, c), lo=-2.0, hi=2.0)),
              "b2": draw(strategies.values((c,), lo=-2.0, hi=2.0))}
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return {"x": draw(strategies.values((n, d), lo=-3.0, hi=3.0)), "t": np.eye(c)[y], "y": y,
            "params": params}


@dataclass(frozen=True)
class Blame:
    """The first call of the net that is wrong on its own inputs."""

    layer: str  #: the net's name for the layer, e.g. "Affine2" (see NET_LAYERS)
    cls: str  #: its class, e.g. "Affine"
    step: str  #: "forward" or "backward"
    value: str  #: what it got wrong: "out", "loss", "dx", "dW" or "db"
    got: Any
    expected: Any

    @property
    def call(self) -> str:
        return f"{self.layer}.{self.step}"

    def describe(self) -> str:
        what = {"out": "its output differs from the oracle's on the very input the net gave it",
                "loss": "its loss differs from the mean cross-entropy of the scores the net "
                        "gave it"}.get(self.value, f"{self.value} is wrong for the input and "
                                                   "upstream gradient the net gave it")
        return f"{self.call} (class {self.cls}): {what}"

    def facts(self) -> Facts:
        got = np.shape(self.got) if self.got is not None else None
        exp = np.shape(self.expected)
        shapes = got is not None and got != exp
        return Facts(where=self.call, value=self.value, got_shape=got if shapes else None,
                     expected_shape=exp if shapes else None,
                     returned_none=self.got is None and self.step == "backward")


def _blame(k: int, step: str, value: str, got: Any, expected: Any) -> Blame:
    layer = list(NET_LAYERS)[k]
    return Blame(layer, NET_LAYERS[layer], step, value, got, expected)


def blame_layers(case: Case, calls: Sequence[dict[str, Any]]) -> Blame | None:
    """The first call of the net that is wrong on its own inputs; None if none."""
    params = case["params"]
    wp = {0: (params["W1"], params["b1"]), 2: (params["W2"], params["b2"])}
    forward_in: dict[int, Any] = {}
    for c in calls:
        k = int(c["index"])
        cls = c["layer"]
        if c["step"] == "forward":
            args = c["inputs"]
            forward_in[k] = args[0]
            x = np.asarray(args[0], dtype=np.float64)
            if cls == "Affine":
                expected = oracles.affine(x, *wp[k], np.zeros((x.shape[0], wp[k][0].shape[1])))[0]
            elif cls == "Relu":
                expected = np.maximum(x, 0.0)
            else:
                got = c.get("out")
                g = np.squeeze(np.asarray(got, dtype=np.float64)) if got is not None else None
                exact, _ = oracles.loss("softmax_loss", x, case["y"])
                if close_to(g, exact) or delta_of(g, x, case["y"]) is not None:
                    continue
                return _blame(k, "forward", "loss", g, exact)
            if not close_to(c.get("out"), expected):
                return _blame(k, "forward", "out", c.get("out"), expected)
            continue
        x = np.asarray(forward_in.get(k), dtype=np.float64)
        dout = c["dout"]
        if cls == "SoftmaxWithLoss":
            _, dx = oracles.loss("softmax_loss", x, case["y"])
            expected_all = {"dx": dx}
        elif cls == "Affine":
            _, (dx, dw, db) = oracles.affine(x, *wp[k], dout)
            expected_all = {"dx": dx, "dW": dw, "db": db}
        else:
            d = np.asarray(dout, dtype=np.float64)
            _, (dx,) = oracles.relu(x, d)
            got = np.asarray(c.get("dx"), dtype=np.float64) if c.get("dx") is not None else None
            if got is not None and got.shape == x.shape:
                dx = np.where(x == 0, np.clip(got, np.minimum(0.0, d), np.maximum(0.0, d)), dx)
            expected_all = {"dx": dx}
        for value, expected in expected_all.items():
            if not close_to(c.get(value), expected):
                return _blame(k, "backward", value, c.get(value), expected)
    return None


def layer_net_checks(name: str) -> list[Check]:
    keys = ("W1", "b1", "W2", "b2")

    def away_from_kinks(case: Case) -> None:
        h = case["x"] @ case["params"]["W1"] + case["params"]["b1"]
        assume(np.min(np.abs(h)) > 1e-6)

    def usable(ex: Executor) -> bool:
        return not any(interface_of(ex, n)["problem"]
                       for n in ("Affine", "Relu", "SoftmaxWithLoss"))

    def run(ex: Executor, case: Case) -> dict[str, Any]:
        return ex.call("layer_class_net", params=case["params"], x=case["x"], t=case["t"])

    def expected(case: Case) -> tuple[float, dict[str, Any]]:
        _, value, grads = oracles.net(case["params"], case["x"], case["y"], 0.0, 2)
        return value, grads

    def judge_loss(case: Case, value: Any) -> float:
        where = f"{name}: SoftmaxWithLoss.forward(Affine2's output, t)"
        x = case["x"] @ case["params"]["W1"] + case["params"]["b1"]
        scores = np.maximum(x, 0.0) @ case["params"]["W2"] + case["params"]["b2"]
        return judge_loss_value(where, value, scores, case["y"])

    def judge_grads(case: Case, grads: Any) -> None:
        where = f"{name}: dW and db of both Affine layers after backward"
        if not isinstance(grads, dict) or any(grads.get(k) is None for k in keys):
            raise CheckFailed("bad-return", f"{where}: an Affine layer has no dW or db after "
                              "backward")
        for k in keys:
            expect_shape(grads[k], case["params"][k].shape, k, where, f"the shape of {k}")
            expect_finite(grads[k], k, where)
        dtype = working_dtype(*(grads[k] for k in keys))
        _, exp = expected(case)
        judge(where, list(keys), [grads[k] for k in keys], [exp[k] for k in keys],
              tolerance_for(dtype), "jax.grad of the net's loss")

    def with_blame(case: Case, res: dict[str, Any], verdict: Any) -> None:
        try:
            verdict()
        except CheckFailed as exc:
            found = blame_layers(case, res.get("calls") or [])
            if found is None:
                raise
            # The facts are the guilty call's: where names it ("Affine2.backward"), value is
            # what it got wrong on the inputs the net gave it (its shapes if they differ).
            raise exc.amended(message=f"{exc.message}. Guilty: {found.describe()}.",
                              facts=found.facts()) from None

    def loss(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        away_from_kinks(case)
        res = run(ex, case)
        with_blame(case, res, lambda: judge_loss(case, res["loss"]))
        return True

    def gradients(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        away_from_kinks(case)
        res = run(ex, case)
        with_blame(case, res, lambda: judge_grads(case, res["grads"]))
        return True

    def numerical(ex: Executor, case: Case) -> bool:
        if not usable(ex):
            return False
        away_from_kinks(case)
        res = run(ex, case)
        try:
            book = judge_loss(case, res["loss"])
            grads = res["grads"]
            for k in keys:
                expect_shape(grads[k], case["params"][k].shape, k, name, "")
            moved = {**case, "params": nearby(case["params"], list(keys))}
            judge_loss(moved, ex.call("layer_class_net_loss", params=moved["params"],
                                      x=case["x"], t=case["t"]))
        except (CheckFailed, ContractError, StudentError, KeyError, TypeError):
            return False
        claimed = [np.asarray(grads[k], dtype=np.float64) for k in keys]
        if book:
            claimed = [g + s for g, s in zip(claimed, _net_book_shift(case, book))]

        def f(*vals: Any) -> Any:
            return ex.call("layer_class_net_loss", params=dict(zip(keys, vals)), x=case["x"],
                           t=case["t"])

        judge_numerical(f"{name} (your layers)", list(keys), f,
                        [case["params"][k] for k in keys], claimed, case)
        return True

    cases = _net_case()
    checks = [
        Check("loss", cases, loss, "the net's loss matches the oracle",
              unjudged="a layer class does not have the book's interface (see its item)"),
        Check("gradients", cases, gradients, "dW and db of both Affine layers match jax.grad",
              unjudged="a layer class does not have the book's interface (see its item)"),
        Check("numerical", cases, numerical, "the gradients match centred differences of the "
              "net's own loss", unjudged="a layer class does not have the book's interface, or "
              "the net's loss is wrong on every example (see the loss check)"),
    ]
    return checks


def _net_book_shift(case: Case, delta: float) -> list[np.ndarray]:
    """How the δ inside the log (the book's 1e-7) changes the net's parameter gradients."""
    p = case["params"]
    pre = case["x"] @ p["W1"] + p["b1"]
    h = np.maximum(pre, 0.0)
    d = book_dx_shift(h @ p["W2"] + p["b2"], case["y"], delta)
    dh = (d @ p["W2"].T) * (pre > 0)
    return [case["x"].T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)]


