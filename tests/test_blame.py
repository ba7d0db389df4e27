"""Nets that fail are replayed layer by layer, and the output names the guilty function."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import bpverify

NET = '''
from reference import *  # noqa: F403
from reference.layers import affine_forward, relu_forward, softmax_loss, relu_backward
from reference.layers import affine_backward as _affine_backward
import numpy as np


def affine_backward(dout, cache):
    return _affine_backward(dout, cache)
{extra}

class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {{"W1": np.zeros((input_dim, hidden_dim)), "b1": np.zeros(hidden_dim),
                       "W2": np.zeros((hidden_dim, num_classes)), "b2": np.zeros(num_classes)}}

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h, c1 = affine_forward(X, W1, b1)
        a, c2 = relu_forward(h)
        s, c3 = affine_forward(a, W2, b2)
        if y is None:
            return s
        loss, ds = softmax_loss(s, y)
        loss += {loss_reg} * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        da, dW2, db2 = affine_backward(ds, c3)
        dh = {relu}
        dx, dW1, db1 = affine_backward(dh, c1)
        return loss, {{"W1": dW1 + {w1_reg} * self.reg * W1, "b1": db1,
                      "W2": dW2 + self.reg * W2, "b2": db2}}
'''

CORRECT = {"extra": "", "loss_reg": "0.5", "relu": "relu_backward(da, c2)", "w1_reg": "1.0"}
BAD_DB = '''
def affine_backward(dout, cache):
    dx, dw, db = _affine_backward(dout, cache)
    return dx, dw, dout[0]  # db not summed over the batch
'''


@pytest.mark.parametrize(
    ("change", "check", "guilty"),
    [
        ({}, None, None),
        ({"extra": BAD_DB}, "gradients", "affine_backward, layer 2: db is wrong"),
        ({"relu": "da"}, "gradients", "never calls relu_backward for layer 1"),
        ({"w1_reg": "0.0"}, "regularization",
         "grads['W1'] misses the regularization gradient reg*W1"),
        ({"w1_reg": "2.0"}, "regularization", "grads['W1'] adds 2*reg*W1"),
        ({"loss_reg": "0.0"}, "regularization", "leaves out the regularization term"),
        ({"loss_reg": "1.0"}, "regularization", "adds reg*sum(W**2)"),
        ({"relu": "relu_backward(ds @ W2.T * 0 + da * 2, c2)"}, "gradients",
         "passes the wrong upstream gradient to relu_backward, layer 1"),
    ],
)
def test_the_guilty_layer_call_or_wiring_is_named(
    tmp_path: Path, change: dict[str, str], check: str | None, guilty: str | None
) -> None:
    sub = tmp_path / "net.py"
    sub.write_text(NET.format(**{**CORRECT, **change}))
    item = bpverify.check_submission(sub, only=["TwoLayerNet"], profile="ci").items[0]
    if check is None:
        assert item.status == "passed", [c.message for c in item.checks]
        return
    failed = item.check(check)
    assert failed.status == "failed"
    assert guilty in failed.message, failed.message


# --- any call shape: blame never turns into an internal error ---------------------------------

SHAPES_NET = '''
import numpy as np
from reference import layers as L
from reference.layers import affine_forward, affine_backward, relu_forward, relu_backward
from reference.layers import softmax_loss


def affine_relu_forward(x, w, b):
    a, fc = affine_forward(x, w, b)
    out, rc = relu_forward(a)
    return out, (fc, rc)


def affine_relu_backward(dout, cache):
    fc, rc = cache
    return affine_backward(relu_backward(dout, rc), fc)


def dropout_forward(x, p):
    return x, None


def dropout_backward(dout, cache):
    return dout


class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {{"W1": np.zeros((input_dim, hidden_dim)), "b1": np.zeros(hidden_dim),
                       "W2": np.zeros((hidden_dim, num_classes)), "b2": np.zeros(num_classes)}}

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        {forward}
        h, dc = dropout_forward(h, 1.0)
        s, c3 = {last}
        {rectify}
        if y is None:
            return s
        loss, ds = softmax_loss(s, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + {w2_term})
        dh, dW2, db2 = {last_back}
        dh = dropout_backward(dh, dc)
        {backward}
        return loss, {{"W1": dW1 + self.reg * W1, "b1": db1, "W2": dW2 + {w2_grad}, "b2": db2}}
'''

FORWARDS = {
    "positional": ("a, c1 = affine_forward(X, W1, b1)\n        h, c2 = relu_forward(a)",
                   "_, dW1, db1 = affine_backward(relu_backward(dh, c2), c1)"),
    "keywords": ("a, c1 = affine_forward(x=X, w=W1, b=b1)\n        h, c2 = relu_forward(x=a)",
                 "_, dW1, db1 = affine_backward(dout=relu_backward(dout=dh, cache=c2), "
                 "cache=c1)"),
    "helper": ("h, c12 = affine_relu_forward(X, W1, b1)",
               "_, dW1, db1 = affine_relu_backward(dh, c12)"),
    "getattr": ("a, c1 = getattr(L, 'affine_forward')(X, W1, b1)\n"
                "        h, c2 = getattr(L, 'relu_forward')(a)",
                "_, dW1, db1 = getattr(L, 'affine_backward')(relu_backward(dh, c2), c1)"),
}
LASTS = {
    "positional": ("affine_forward(h, W2, b2)", "affine_backward(ds, c3)"),
    "keywords": ("affine_forward(h, w=W2, b=b2)", "affine_backward(cache=c3, dout=ds)"),
}
MISTAKES = {
    "none": {},
    "relu scores": {"rectify": "s = np.maximum(s, 0)"},
    "W2 not regularized": {"w2_term": "0", "w2_grad": "0"},
    "scalar reg": {"w2_grad": "self.reg * np.sum(W2)"},
    "plus typo": {"w2_grad": "self.reg + W2"},
}


@pytest.mark.parametrize("seed", range(6))
def test_any_call_shape_never_breaks_blame(tmp_path: Path, seed: int) -> None:
    # Random compositions (Hypothesis cannot drive this: grading runs Hypothesis itself).
    rng = random.Random(seed)
    forward, last = rng.choice(sorted(FORWARDS)), rng.choice(sorted(LASTS))
    mistake = rng.choice(sorted(MISTAKES))
    fill = {"forward": FORWARDS[forward][0], "backward": FORWARDS[forward][1],
            "last": LASTS[last][0], "last_back": LASTS[last][1], "rectify": "",
            "w2_term": "np.sum(W2 * W2)", "w2_grad": "self.reg * W2", **MISTAKES[mistake]}
    sub = tmp_path / "net.py"
    sub.write_text(SHAPES_NET.format(**fill))
    item = bpverify.check_submission(sub, only=["TwoLayerNet"], max_examples=4,
                                     seed=seed).items[0]
    messages = [c.message for c in item.checks]
    assert not [c for c in item.checks if c.kind == "internal-error"], messages
    assert (item.status == "passed") == (mistake == "none"), (forward, last, mistake, messages)
