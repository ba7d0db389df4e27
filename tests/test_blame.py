"""Nets that fail are replayed layer by layer, and the output names the guilty function."""

from __future__ import annotations

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
