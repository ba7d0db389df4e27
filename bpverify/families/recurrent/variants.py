"""The known mistakes of rnn_layers.py, replayed in numpy (grader side, for the diagnoses).

Each function computes what a layer returns when it makes one classic mistake, on the inputs
of a failed check's minimal example; a diagnosis names the mistake only when the submission
returned exactly that.  The correct computation is the same code with the mistake switched
off, so that a replay differs from the right answer in the mistake alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import permutations
from typing import Any

import numpy as np

__all__ = [
    "GATES",
    "Lstm",
    "Rnn",
    "add_at_lost",
    "gate_orders",
    "temporal_loss",
]

Array = np.ndarray

#: The course's order of the LSTM's gates in the 4H columns.
GATES = "ifog"


def _sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


def gate_orders() -> Iterator[str]:
    """Every other order of the four gates, e.g. "ifgo" (g's block before o's)."""
    return ("".join(p) for p in permutations(GATES) if "".join(p) != GATES)


@dataclass(frozen=True)
class Rnn:
    """A vanilla RNN with switchable mistakes.

    ``carry``: dprev_h from step t+1 is added to dh[:, t]; ``tanh_from``: "output" (1 -
    next_h², right), "input" (1 - a², a the pre-activation) or "twice" (1 - tanh(next_h)²).
    """

    carry: bool = True
    tanh_from: str = "output"

    def local(self, a: Array, h: Array) -> Array:
        if self.tanh_from == "input":
            return 1 - a**2
        if self.tanh_from == "twice":
            return 1 - np.tanh(h) ** 2
        return 1 - h**2

    def step_backward(self, x: Array, prev_h: Array, Wx: Array, Wh: Array, b: Array,
                      dnext_h: Array) -> tuple[Array, ...]:
        a = x @ Wx + prev_h @ Wh + b
        da = dnext_h * self.local(a, np.tanh(a))
        return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)

    def backward(self, x: Array, h0: Array, Wx: Array, Wh: Array, b: Array,
                 dh: Array) -> tuple[dict[str, Array], list[dict[str, Array]]]:
        """The gradients (dx, dh0, dWx, dWh, db), and each step's share of dWx, dWh, db."""
        hs = [h0]
        for t in range(x.shape[1]):
            hs.append(np.tanh(x[:, t] @ Wx + hs[-1] @ Wh + b))
        dx = np.zeros_like(x)
        dprev = np.zeros_like(h0)
        steps: list[dict[str, Array]] = []
        for t in reversed(range(x.shape[1])):
            up = dh[:, t] + (dprev if self.carry else 0.0)
            dx[:, t], dprev, dWx, dWh, db = self.step_backward(x[:, t], hs[t], Wx, Wh, b, up)
            steps.append({"dWx": dWx, "dWh": dWh, "db": db})
        total = {k: np.sum([s[k] for s in steps], axis=0) for k in ("dWx", "dWh", "db")}
        return {"dx": dx, "dh0": dprev, **total}, steps


@dataclass(frozen=True)
class Lstm:
    """An LSTM with switchable mistakes.

    ``order``: the gates' order in forward's slices (right: "ifog"); ``back_order``: the
    order backward concatenates the gates' gradients in (None: as forward's); ``dc``:
    dnext_c flows into the cell state's gradient; ``carry_h``/``carry_c``: the gradients
    step t+1 sends back are added in at step t.
    """

    order: str = GATES
    back_order: str | None = None
    dc: bool = True
    carry_h: bool = True
    carry_c: bool = True

    def step(self, x: Array, h: Array, c: Array, Wx: Array, Wh: Array,
             b: Array) -> tuple[Array, Array, dict[str, Array]]:
        H = h.shape[1]
        a = x @ Wx + h @ Wh + b
        blocks = {g: a[:, k * H:(k + 1) * H] for k, g in enumerate(self.order)}
        gate = {g: (np.tanh if g == "g" else _sigmoid)(blocks[g]) for g in GATES}
        next_c = gate["f"] * c + gate["i"] * gate["g"]
        next_h = gate["o"] * np.tanh(next_c)
        return next_h, next_c, {**gate, "tanh_c": np.tanh(next_c)}

    def step_backward(self, x: Array, h: Array, c: Array, Wx: Array, Wh: Array, b: Array,
                      dnext_h: Array, dnext_c: Array) -> tuple[Array, ...]:
        _, _, s = self.step(x, h, c, Wx, Wh, b)
        i, f, o, g, tc = s["i"], s["f"], s["o"], s["g"], s["tanh_c"]
        dc = dnext_h * o * (1 - tc**2) + (dnext_c if self.dc else 0.0)
        da = {"i": dc * g * i * (1 - i), "f": dc * c * f * (1 - f),
              "o": dnext_h * tc * o * (1 - o), "g": dc * i * (1 - g**2)}
        cat = np.concatenate([da[k] for k in (self.back_order or self.order)], axis=1)
        return cat @ Wx.T, cat @ Wh.T, dc * f, x.T @ cat, h.T @ cat, cat.sum(axis=0)

    def forward(self, x: Array, h0: Array, Wx: Array, Wh: Array,
                b: Array) -> tuple[Array, list[tuple[Array, Array]]]:
        h, c = h0, np.zeros_like(h0)
        hs, states = [], []
        for t in range(x.shape[1]):
            states.append((h, c))
            h, c, _ = self.step(x[:, t], h, c, Wx, Wh, b)
            hs.append(h)
        return np.stack(hs, axis=1), states

    def backward(self, x: Array, h0: Array, Wx: Array, Wh: Array, b: Array,
                 dh: Array) -> tuple[dict[str, Array], list[dict[str, Array]]]:
        _, states = self.forward(x, h0, Wx, Wh, b)
        dx = np.zeros_like(x)
        dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
        steps: list[dict[str, Array]] = []
        for t in reversed(range(x.shape[1])):
            h, c = states[t]
            up_h = dh[:, t] + (dprev_h if self.carry_h else 0.0)
            up_c = dprev_c if self.carry_c else np.zeros_like(h0)
            dx[:, t], dprev_h, dprev_c, dWx, dWh, db = self.step_backward(
                x[:, t], h, c, Wx, Wh, b, up_h, up_c)
            steps.append({"dWx": dWx, "dWh": dWh, "db": db})
        total = {k: np.sum([s[k] for s in steps], axis=0) for k in ("dWx", "dWh", "db")}
        return {"dx": dx, "dh0": dprev_h, **total}, steps


def add_at_lost(x: Array, dout: Array, vocab: int) -> Array:
    """What ``dW[x] += dout`` gives: one gradient per repeated word, the others lost."""
    dW = np.zeros((vocab, dout.shape[-1]))
    dW[x] += dout
    return dW


def temporal_loss(x: Array, y: Array, mask: Array, *, use_mask: bool = True,
                  divide: str = "N") -> tuple[float, Array]:
    """The temporal softmax loss and dx, with the mask used or not, divided by "N" (right),
    "NT" (every step) or "mask" (the steps that count)."""
    n, t, _ = x.shape
    m = np.asarray(mask, dtype=np.float64) if use_mask else np.ones((n, t))
    shifted = x - x.max(axis=2, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(logp, y[:, :, None], axis=2)[:, :, 0]
    by = {"N": n, "NT": n * t, "mask": max(float(m.sum()), 1.0)}[divide]
    dx = np.exp(logp)
    rows = np.indices(y.shape)
    dx[rows[0], rows[1], y] -= 1
    return float(-np.sum(m * picked) / by), dx * m[:, :, None] / by


def as_arrays(example: dict[str, Any], names: tuple[str, ...]) -> dict[str, Array] | None:
    """The named inputs of a minimal example as arrays (word indices as integers), or None
    when one is missing."""
    out = {}
    for n in names:
        if n not in example:
            return None
        a = np.asarray(example[n])
        out[n] = a.astype(np.int64) if n in ("y",) or (n == "x" and a.dtype.kind in "iu") \
            else a.astype(np.float64)
    return out
