"""CS231n's recurrent layers (bpverify/families/recurrent/), through the public doors.

The reference passes every item, CaptioningRNN included, with its full budget of examples;
the items are in the default and cs231n rubrics; a submission that defines some of the layers
gets "not implemented" for the rest; its mistakes are named, a CaptioningRNN's by the layer
call to blame (the zoo, tests/test_zoo.py and tests/test_diagnose.py, holds one file per known
mistake).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import bpverify
from bpverify.cli import main
from bpverify.grading.rubric import load_rubric
from bpverify.registry import all_items

ITEMS = [i.name for i in all_items() if i.category in ("cs231n-rnn", "cs231n-rnn-loss")]
NET = "CaptioningRNN"


def test_the_family_grades_every_function_of_rnn_layers() -> None:
    assert ITEMS == [
        "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
        "word_embedding_forward", "word_embedding_backward", "lstm_step_forward",
        "lstm_step_backward", "lstm_forward", "lstm_backward", "temporal_affine_forward",
        "temporal_affine_backward", "temporal_softmax_loss"]
    for rubric in ("default", "cs231n"):
        assert {*ITEMS, NET} <= {r.name for r in load_rubric(rubric).items}, rubric


def test_the_reference_passes_every_check_with_its_full_budget(reference_path: Path) -> None:
    result = bpverify.check_submission(reference_path, profile="ci", only=[*ITEMS, NET])
    assert [i.name for i in result.items] == [*ITEMS, NET]
    failures = [f"{i.name} / {c.name}: {c.message}" for i in result.items for c in i.checks
                if c.status != "passed"]
    assert not failures, "\n".join(failures)
    budget = bpverify.PROFILES["ci"].max_examples
    assert all(c.examples_run - c.examples_rejected == budget
               for i in result.items for c in i.checks)


def test_a_partial_rnn_layers_file_is_graded_on_what_it_defines(tmp_path: Path) -> None:
    """The command line, on a student's file with the vanilla RNN's step only (float32, as
    CaptioningRNN runs it): the step passes, the rest is not implemented, nothing fails."""
    path = tmp_path / "rnn_layers.py"
    path.write_text(textwrap.dedent("""
        import numpy as np

        def rnn_step_forward(x, prev_h, Wx, Wh, b):
            next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b).astype(np.float32)
            return next_h, (x, prev_h, Wx, Wh, next_h)

        def rnn_step_backward(dnext_h, cache):
            x, prev_h, Wx, Wh, next_h = cache
            da = dnext_h * (1 - next_h ** 2)
            return da.dot(Wx.T), da.dot(Wh.T), x.T.dot(da), prev_h.T.dot(da), da.sum(axis=0)
    """))
    out = tmp_path / "result.json"
    only = [a for name in ITEMS[:4] for a in ("--only", name)]
    assert main(["grade", str(path), "--profile", "ci", "--in-process", "--json", str(out),
                 *only]) == 0
    items = {i["name"]: i for i in json.loads(out.read_text())["items"]}
    assert items["rnn_step_forward"]["status"] == "passed"
    assert items["rnn_step_backward"]["status"] == "passed"
    for name in ("rnn_forward", "rnn_backward"):
        assert items[name]["status"] == "not implemented", items[name]
        assert name in items[name]["message"]


@pytest.mark.parametrize(("body", "item", "check", "mistake"), [
    ("""
     def temporal_softmax_loss(x, y, mask):
         loss, dx = _reference_loss(x, y, np.ones_like(mask))
         return loss, dx
     """, "temporal_softmax_loss", "gradient", "mask-ignored"),
    ("""
     def word_embedding_backward(dout, cache):
         x, shape = cache
         dW = np.zeros(shape)
         for n in range(x.shape[0]):
             for t in range(x.shape[1]):
                 dW[x[n, t]] = dout[n, t]
         return dW
     """, "word_embedding_backward", "backward", "embedding-lost-repeats"),
])
def test_a_mistake_written_another_way_gets_the_same_name(tmp_path: Path, body: str, item: str,
                                                         check: str, mistake: str) -> None:
    """The diagnoses read the numbers, not the code: a loop that assigns instead of adding
    loses repeated words just as dW[x] += dout does."""
    path = tmp_path / "student.py"
    path.write_text("import numpy as np\nfrom reference import *  # noqa: F403\n"
                    "from reference import temporal_softmax_loss as _reference_loss\n"
                    + textwrap.dedent(body))
    result = bpverify.check_submission(path, profile="ci", only=[item])
    failed = result.item(item).check(check)
    assert failed.status == "failed", failed
    assert failed.diagnosis is not None and failed.diagnosis.mistake == mistake, failed


NO_CARRY = '''

def rnn_backward(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]))
    dWx, dWh, db = 0, 0, 0
    for t in reversed(range(T)):
        dx[:, t], dh0, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh0, dWx, dWh, db
'''


def test_the_captioning_net_blames_the_layer_it_is_built_on(tmp_path: Path) -> None:
    """A CaptioningRNN that is right itself, built on an rnn_backward that never carries the
    hidden state's gradient: its gradients fail, and the blame names rnn_backward."""
    zoo = Path(__file__).parent / "zoo" / "mistakes" / "captioning_mask_from_input.py"
    text = zoo.read_text().replace("mask = captions_in != self._null",
                                   "mask = captions_out != self._null")
    path = tmp_path / "captioning.py"
    path.write_text(text.split("\nEXPECT")[0] + NO_CARRY)
    result = bpverify.check_submission(path, max_examples=5, only=["CaptioningRNN"])
    net = result.item("CaptioningRNN")
    gradients = net.check("gradients")
    assert gradients.status == "failed" and "Guilty: rnn_backward" in gradients.message
    assert gradients.facts.where == "rnn_backward"
    assert gradients.diagnosis is not None
    assert gradients.diagnosis.mistake == "captioning-guilty-layer"
