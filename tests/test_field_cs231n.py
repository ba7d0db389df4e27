"""Patterns found by grading public CS231n assignment folders as found (a field test), each
reproduced by a small file of our own and graded through the public API.

The files: ``tests/zoo/unfinished/captioning_starter_placeholders.py`` (a net's loss left as the
starter has it), ``tests/zoo/mistakes/max_pool_int_of_where.py`` (numpy 2 refuses ``int()`` of
a one-element array).  Further patterns are zoo files graded by tests/test_zoo.py.
"""

from __future__ import annotations

from pathlib import Path

import bpverify

ZOO = Path(__file__).resolve().parent / "zoo"
PROFILE = "ci"


def test_a_net_left_as_the_starter_has_it_is_not_implemented() -> None:
    path = ZOO / "unfinished" / "captioning_starter_placeholders.py"
    result = bpverify.check_submission(path, profile=PROFILE, only=["CaptioningRNN"])
    (item,) = result.items
    assert item.status == "not implemented", [(c.name, c.status, c.message) for c in item.checks]
    assert "not written yet" in item.message and "starter" in item.message
    assert all(c.diagnosis is None for c in item.checks)


def test_int_of_a_one_element_array_gets_its_numpy_2_fix() -> None:
    path = ZOO / "mistakes" / "max_pool_int_of_where.py"
    result = bpverify.check_submission(path, profile=PROFILE, only=["max_pool_backward_naive"])
    check = result.item("max_pool_backward_naive").check("backward")
    assert check.status == "failed" and check.kind == "raised"
    assert "numpy 1.25" in check.message and "a.item()" in check.message, check.message


def test_a_family_rule_is_its_own_never_a_helper_it_imported() -> None:
    """The core asks a family's feedback for ``wrong_values(check, item)``; a module that
    imported the shared helper of that name (another signature) crashed the whole grade."""
    from bpverify import registry

    for module in registry.feedback_modules():
        rule = getattr(module, "wrong_values", None)
        if rule is not None:
            assert rule.__module__ == module.__name__, (module.__name__, rule.__module__)


def test_a_backward_that_follows_a_wrong_forward_is_not_called_a_backward_mistake() -> None:
    """Group norm with per-pixel statistics, forward and backward consistent: the minimal
    example is degenerate (dout a multiple of x, so the right dx is ~0 and dx without eps is
    0), which once read as "eps left out of backward".  The forward is what is wrong."""
    path = ZOO / "mistakes" / "groupnorm_per_pixel_stats.py"
    result = bpverify.check_submission(path, profile=PROFILE,
                                       only=["spatial_groupnorm_backward"])
    check = result.item("spatial_groupnorm_backward").check("backward")
    assert check.status == "failed"
    assert check.diagnosis is not None and check.diagnosis.mistake == "norm-wrong-forward"


def test_a_folder_without_the_extra_credit_lstm_has_its_net_judged_on_the_rnn() -> None:
    path = ZOO / "unfinished" / "lstm_extra_credit_skipped.py"
    result = bpverify.check_submission(path, profile=PROFILE,
                                       only=["CaptioningRNN", "lstm_forward"])
    net = result.item("CaptioningRNN")
    assert net.status == "passed", [(c.name, c.status, c.message[:200]) for c in net.checks]
    assert result.item("lstm_forward").status == "not implemented"


def test_strings_cross_to_the_worker_interned_as_the_literals_they_stand_for() -> None:
    """`if self.cell_type is 'rnn':` works in the notebook (CPython interns the literal); the
    grader's 'rnn' reaches the isolated worker through the wire codec and must be the same
    object there (tests/zoo/correct/captioning_cell_type_is.py is that net, in-process)."""
    import sys

    from bpverify.submission.wire import decode, encode

    sent = {"cell_type": "".join(["r", "nn"]), "bn_param": {"mode": "".join(["tr", "ain"])}}
    got = decode(encode(sent))
    assert got["cell_type"] is sys.intern("rnn")
    assert got["bn_param"]["mode"] is sys.intern("train")


def test_python_2_division_and_np_lib_pad_get_their_fix(tmp_path: Path) -> None:
    """2016 conv layers: H_out = 1 + (H + 2 * pad - HH) / stride is a float in Python 3, and
    np.lib.pad is gone from numpy 2: the failure says so."""
    path = tmp_path / "layers.py"
    path.write_text(
        "import numpy as np\n\n\n"
        "def conv_forward_naive(x, w, b, conv_param):\n"
        "    N, C, H, W = x.shape\n"
        "    F, _, HH, WW = w.shape\n"
        "    s, pad = conv_param['stride'], conv_param['pad']\n"
        "    H_out = 1 + (H + 2 * pad - HH) / s\n"
        "    W_out = 1 + (W + 2 * pad - WW) / s\n"
        "    out = np.zeros((N, F, int(H_out), int(W_out)))\n"
        "    x_pad = np.lib.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')\n"
        "    for i in range(H_out):\n"
        "        pass\n"
        "    return out, (x, w, b, conv_param)\n")
    for fix in ("use `np.pad`", "use //"):
        result = bpverify.check_submission(path, profile=PROFILE, only=["conv_forward_naive"])
        check = result.item("conv_forward_naive").check("forward")
        assert check.status == "failed" and fix in check.message, check.message
        path.write_text(path.read_text().replace("np.lib.pad", "np.pad"))
