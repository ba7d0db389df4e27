"""The lecture's spiral demo and its optional rubric item."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bpverify
from bpverify.cli import main

LINEAR_NET = '''
from reference import *  # noqa: F403
from reference.layers import affine_forward, affine_backward, softmax_loss
import numpy as np


class TwoLayerNet:
    """Forgets the ReLU: two affine layers compose to one linear classifier."""

    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0):
        rng = np.random.default_rng(0)
        self.reg = reg
        self.params = {"W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
                       "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
                       "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        h, c1 = affine_forward(X, self.params["W1"], self.params["b1"])
        s, c2 = affine_forward(h, self.params["W2"], self.params["b2"])
        if y is None:
            return s
        loss, ds = softmax_loss(s, y)
        dh, dW2, db2 = affine_backward(ds, c2)
        _, dW1, db1 = affine_backward(dh, c1)
        return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
'''


def test_demo_trains_the_reference_and_draws_the_regions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spiral.png"
    assert main(["demo", "spiral", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    linear = int(re.search(r"linear softmax classifier: (\d+)%", text).group(1))  # type: ignore[union-attr]
    net = int(re.search(r"TwoLayerNet .*?: (\d+)% training", text, re.S).group(1))  # type: ignore[union-attr]
    assert linear < 60 <= 90 <= net
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_shows_the_effect_of_regularization(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    assert main(["demo", "spiral", "--reg", "0.5", "--steps", "500",
                 "--out", str(tmp_path / "r.png")]) == 0
    text = capsys.readouterr().out
    assert "reg 0.5" in text
    net = int(re.search(r"TwoLayerNet .*?: (\d+)% training", text, re.S).group(1))  # type: ignore[union-attr]
    assert net < 90  # strong regularization keeps the boundary too simple for the arms


def test_spiral_rubric_item(reference_path: Path, tmp_path: Path) -> None:
    ok = bpverify.check_submission(reference_path, only=["TwoLayerNet spiral"])
    assert ok.items[0].status == "passed"
    sub = tmp_path / "linear.py"
    sub.write_text(LINEAR_NET)
    bad = bpverify.check_submission(sub, only=["TwoLayerNet spiral"]).items[0]
    assert bad.status == "failed"
    check = bad.check("trains")
    assert check.kind == "accuracy"
    assert "on the spiral" in check.message and "expected at least 90%" in check.message


def test_demo_without_a_net_is_a_usage_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    sub = tmp_path / "empty.py"
    sub.write_text("x = 1\n")
    assert main(["demo", "spiral", "--submission", str(sub)]) == 2
    assert "defines no TwoLayerNet" in capsys.readouterr().err
