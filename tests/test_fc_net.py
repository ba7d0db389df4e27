"""CS231n's FullyConnectedNet (the normalization family), through the public doors.

The reference passes every check; the item is in the default and cs231n rubrics; a net
written in the 2016-2017 interface (``use_batchnorm``, ``dropout`` the drop probability) is
graded in it, its layer norm check skipped; a net built on a wrong layer function is blamed
on that call, with the facts the other nets' blame gives (``where`` the guilty call).  The
net's own mistakes are in the zoo (tests/zoo/mistakes/fc_net_*.py).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import bpverify
from bpverify.grading.rubric import load_rubric

NET = "FullyConnectedNet"
CHECKS = ["batchnorm", "layernorm", "dropout", "test-mode", "regularization", "numerical"]


def test_the_item_is_in_both_rubrics_with_its_checks(reference_path: Path) -> None:
    for rubric in ("default", "cs231n"):
        assert NET in {r.name for r in load_rubric(rubric).items}, rubric
    result = bpverify.check_submission(reference_path, profile="ci", only=[NET])
    net = result.item(NET)
    assert [c.name for c in net.checks] == CHECKS
    assert net.status == "passed" and net.score == net.max_score, \
        [(c.name, c.message) for c in net.checks]


OLD_INTERFACE = '''
import numpy as np

from reference import *  # noqa: F403
from reference import FullyConnectedNet as _Net


class FullyConnectedNet(_Net):
    """The 2016-2017 starter's constructor: dropout is the probability of dropping a unit
    (0: no dropout) and use_batchnorm the only normalization."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout=0,
                 use_batchnorm=False, reg=0.0, weight_scale=1e-2, dtype=np.float32,
                 seed=None):
        super().__init__(hidden_dims, input_dim, num_classes, dropout_keep_ratio=1 - dropout,
                         normalization="batchnorm" if use_batchnorm else None, reg=reg,
                         weight_scale=weight_scale, dtype=dtype, seed=seed)
'''


def test_a_2016_net_is_graded_in_its_own_interface(tmp_path: Path) -> None:
    path = tmp_path / "fc_net_2016.py"
    path.write_text(OLD_INTERFACE)
    result = bpverify.check_submission(path, profile="ci", only=[NET])
    net = result.item(NET)
    assert net.status == "passed", [(c.name, c.message) for c in net.checks]
    assert net.check("layernorm").status == "skipped"
    assert "2016-2017" in net.check("layernorm").message
    assert all(net.check(c).status == "passed" for c in CHECKS if c != "layernorm")


WRONG_BACKWARD = '''

def batchnorm_backward_alt(dout, cache):
    """Forgets the path through the mean: dx = gamma * dout / std, nothing more."""
    x, x_hat, mean, var, inv_std, gamma, eps = cache
    dx = dout * gamma * inv_std
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
'''


def test_a_net_built_on_a_wrong_layer_is_blamed_on_that_call(tmp_path: Path) -> None:
    reference = Path(__file__).parent.parent / "reference" / "normalization.py"
    assert "def batchnorm_forward" in reference.read_text()
    path = tmp_path / "fc_net_wrong_layer.py"
    path.write_text(textwrap.dedent("""
        from reference import *  # noqa: F403
        from reference import fc_net as _fc


        class FullyConnectedNet(_fc.FullyConnectedNet):
            pass
    """) + WRONG_BACKWARD + textwrap.dedent("""

        _fc.batchnorm_backward_alt = batchnorm_backward_alt
    """))
    try:
        # In this process (the default): the patch of reference.fc_net is undone below.
        result = bpverify.check_submission(path, max_examples=5, only=[NET])
    finally:
        import reference.fc_net as fc
        import reference.normalization as norm
        fc.batchnorm_backward_alt = norm.batchnorm_backward_alt
    check = result.item(NET).check("batchnorm")
    assert check.status == "failed"
    assert "Guilty: batchnorm_backward_alt, layer" in check.message, check.message
    assert check.facts.where == "batchnorm_backward_alt" and check.facts.value == "dx"
    assert check.diagnosis is not None and check.diagnosis.mistake == "fcnet-guilty-layer"
    assert result.item(NET).check("layernorm").status == "passed"


def test_a_net_that_skips_the_relu_backward_is_blamed_for_it(tmp_path: Path) -> None:
    """Every layer call right, but the gradient goes from the norm's backward of layer k+1
    straight into layer k's: the blame names the relu_backward never called."""
    source = (Path(__file__).parent.parent / "reference" / "fc_net.py").read_text()
    assert "            d = relu_backward(d, c_relu)\n" in source
    body = source.split("class FullyConnectedNet:")[1].replace(
        "            d = relu_backward(d, c_relu)\n", "")
    path = tmp_path / "fc_net_no_relu_backward.py"
    path.write_text("from typing import Any\nfrom collections.abc import Sequence\n"
                    "import numpy as np\nfrom reference import *  # noqa: F403\n"
                    "from reference.fc_net import batchnorm_backward_alt, layernorm_backward\n"
                    "\n\nclass FullyConnectedNet:" + body)
    result = bpverify.check_submission(path, max_examples=5, only=[NET])
    check = result.item(NET).check("batchnorm")
    assert check.status == "failed"
    assert "never calls relu_backward" in check.message, check.message
    assert check.facts.value == "relu_backward skipped"
    assert check.diagnosis is not None and check.diagnosis.mistake == "fcnet-chain"
