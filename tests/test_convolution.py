"""CS231n's convolutional layers (bpverify/families/convolution/), through the public doors.

The zoo (tests/zoo/mistakes/conv_*.py, max_pool_*.py; tests/zoo/correct/conv_*.py,
max_pool_ties_split.py) is graded by tests/test_zoo.py, each mistake caught by its item and
named by its diagnosis.  Here: the reference passes every check with its full budget, the checks
stay cheap (worker calls counted, never timed), and the cs231n rubric finds the layers in
cs231n/layers.py (graded through the isolated worker) and makes ties advice.
"""

from __future__ import annotations

import collections
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import bpverify
from bpverify.cli import main
from bpverify.grading.engine import check_item
from bpverify.model import SubmissionResult
from bpverify.submission import InProcessExecutor, load_submission

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "tests" / "zoo"
LAYERS = ["conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
          "max_pool_backward_naive"]
PROFILE = "ci"


@pytest.mark.parametrize("item", [*LAYERS, "ThreeLayerConvNet"])
def test_reference_passes_every_check_with_its_full_budget(item: str) -> None:
    (got,) = bpverify.check_submission(ROOT / "reference", profile=PROFILE, only=[item]).items
    failures = [f"{c.name}: {c.message}" for c in got.checks if c.status != "passed"]
    assert got.status == "passed", "\n".join(failures)
    budget = bpverify.PROFILES[PROFILE].max_examples
    drawn = {c.name: c.examples_run - c.examples_rejected for c in got.checks}
    assert drawn and all(n == budget for n in drawn.values()), drawn


class Counting:
    """An executor that counts the requests a check sends (a worker call each)."""

    timeout = None

    def __init__(self, inner: InProcessExecutor) -> None:
        self.inner = inner
        self.calls: collections.Counter[str] = collections.Counter()

    def call(self, scenario: str, **kwargs: Any) -> Any:
        self.calls[scenario] += 1
        return self.inner.call(scenario, **kwargs)

    def begin_item(self, name: str) -> None:
        """Nothing to reset."""

    def close(self) -> None:
        pass


#: Worker calls an item of the naive loops may take at the ci profile (15 examples a check):
#: two or three per example and check (forward, backward, the moved forward, one batch of
#: centred differences), with room for examples drawn again after a tie.
MAX_CALLS = {"conv_forward_naive": 40, "conv_backward_naive": 110,
             "max_pool_forward_naive": 40, "max_pool_backward_naive": 140}


@pytest.mark.parametrize("item", LAYERS)
def test_the_naive_loops_are_checked_in_few_worker_calls(item: str) -> None:
    sub = load_submission(ZOO / "correct" / "conv_naive_loops.py")
    ex = Counting(InProcessExecutor(sub))
    result = check_item(item, ex, profile=PROFILE, available=sub.names)
    assert result.status == "passed", [c.message for c in result.checks]
    assert sum(ex.calls.values()) <= MAX_CALLS[item], dict(ex.calls)


CS231N_LAYERS = '''
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    out = None
    ###########################################################################
    # TODO: Implement the convolutional forward pass.                         #
    ###########################################################################
    stride, pad = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    win = x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW]
                    out[n, f, i, j] = np.sum(win * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = np.max(x[:, :, i*s:i*s+ph, j*s:j*s+pw], axis=(2, 3))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            win = x[:, :, i*s:i*s+ph, j*s:j*s+pw]
            mask = win == np.max(win, axis=(2, 3), keepdims=True)
            dx[:, :, i*s:i*s+ph, j*s:j*s+pw] += mask * dout[:, :, i, j][:, :, None, None]
    return dx
'''


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "assignment2"
    (folder / "cs231n").mkdir(parents=True)
    (folder / "cs231n" / "__init__.py").write_text("")
    (folder / "cs231n" / "layers.py").write_text(textwrap.dedent(CS231N_LAYERS))
    return folder


def test_cs231n_folder_ties_are_advice_and_a_missing_backward_is_not_implemented(
        tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "result.json"
    only = [a for item in LAYERS for a in ("--only", item)]
    code = main(["grade", str(folder), "--rubric", "cs231n", "--examples", "6",
                 "--json", str(out), *only])
    assert code == 0
    result = SubmissionResult.from_dict(json.loads(out.read_text()))
    assert "in-process" not in result.sandbox  # the isolated worker: pool_param crosses the wire
    items = {i.name: i for i in result.items}
    assert items["conv_forward_naive"].status == "passed"
    assert items["max_pool_forward_naive"].status == "passed"
    assert items["conv_backward_naive"].status == "not implemented"
    assert "conv_backward_naive" in items["conv_backward_naive"].message
    pool = items["max_pool_backward_naive"]
    # dout * (window == max) hands each tied maximum the whole dout: the ties check says so,
    # with its diagnosis, and costs nothing under the cs231n rubric.
    ties = pool.check("ties")
    assert ties.status == "failed" and ties.diagnosis is not None
    assert ties.diagnosis.mistake == "pool-ties-to-all"
    assert all(c.status == "passed" for c in pool.checks if c.name != "ties")
    assert pool.score == pool.max_score


def test_the_default_rubric_charges_for_ties(tmp_path: Path) -> None:
    layers = _folder(tmp_path) / "cs231n" / "layers.py"
    (pool,) = bpverify.check_submission(layers, profile=PROFILE, max_examples=6,
                                        only=["max_pool_backward_naive"]).items
    assert pool.check("ties").status == "failed"
    # backward 3, overlap 1, numerical 2, hygiene 1 of backward, ties, overlap, numerical,
    # hygiene
    assert pool.score == pytest.approx(pool.max_score * (3 + 1 + 2 + 1) / (3 + 1 + 1 + 2 + 1))
