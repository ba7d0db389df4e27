"""CS231n's linear classifier losses and update rules, through the public doors.

The zoo (tests/zoo/) holds one file per classic mistake of these items, caught and named; this
file covers what the zoo's conventions cannot: the agree check with and without a naive version,
the command line's words, and the notebook's own Adam values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import bpverify
from bpverify.cli import main

FEW = 10
HEADER = "import numpy as np\nfrom reference import *  # noqa: F403\n\n"
VECTORIZED_ONLY = '''
import numpy as np


def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    mask = (margins > 0) * 1.0
    mask[np.arange(N), y] = -mask.sum(axis=1)
    return margins.sum() / N + reg * np.sum(W * W), X.T.dot(mask) / N + 2 * reg * W
'''


def test_a_missing_naive_version_skips_agree_at_no_cost(tmp_path: Path) -> None:
    sub = tmp_path / "svm.py"
    sub.write_text(VECTORIZED_ONLY)
    result = bpverify.check_submission(sub, only=["svm_loss_vectorized", "svm_loss_naive"],
                                       max_examples=FEW)
    naive, vectorized = result.item("svm_loss_naive"), result.item("svm_loss_vectorized")
    assert naive.status == "not implemented"
    assert vectorized.status == "passed" and vectorized.score == vectorized.max_score
    agree = vectorized.check("agree")
    assert agree.status == "skipped" and "svm_loss_naive is missing" in agree.message


def test_a_vectorized_loss_that_disagrees_with_its_right_naive_version_fails_agree(
        tmp_path: Path) -> None:
    """The naive version is the reference's (right); the vectorized one regularizes with
    0.5·reg (consistent on its own, so its loss and gradient checks pass) but disagrees."""
    sub = tmp_path / "softmax.py"
    sub.write_text(HEADER + '''
def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    s = X.dot(W)
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean() + 0.5 * reg * np.sum(W * W)
    p[np.arange(N), y] -= 1
    return loss, X.T.dot(p) / N + reg * W
''')
    (item,) = bpverify.check_submission(sub, only=["softmax_loss_vectorized"],
                                        max_examples=FEW).items
    assert item.check("loss").passed and item.check("gradient").passed
    agree = item.check("agree")
    assert agree.status == "failed"
    assert "softmax_loss_vectorized against your softmax_loss_naive" in agree.message


def test_the_command_line_names_an_update_rule_mistake(tmp_path: Path) -> None:
    sub = tmp_path / "optim.py"
    sub.write_text(HEADER + '''
def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw**2
    return w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"]), config
''')
    out = tmp_path / "out"
    code = main(["grade", str(sub), "--only", "rmsprop", "--examples", str(FEW), "--in-process",
                 "--out", str(out), "--json", "result.json"])
    assert code == 0  # graded (a failing item is a verdict, not an error)
    (item,) = json.loads((out / "optim" / "result.json").read_text())["items"]
    small = next(c for c in item["checks"] if c["name"] == "small gradients")
    assert small["status"] == "failed"
    assert small["diagnosis"]["mistake"] == "eps-inside-sqrt"
    assert "sqrt(cache + eps)" in small["diagnosis"]["saw"]


def test_the_reference_adam_gives_the_notebooks_values() -> None:
    """The notebook's expected next_w (the same in every generation) needs t incremented
    before it is used: t = 5 in, t = 6 in the bias corrections."""
    from reference import adam

    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    m = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    next_w, config = adam(w, dw, {"learning_rate": 1e-2, "m": m, "v": v, "t": 5})
    assert np.allclose(next_w[0, :3], [-0.40094747, -0.34836187, -0.29577703], atol=1e-8)
    assert config["t"] == 6
