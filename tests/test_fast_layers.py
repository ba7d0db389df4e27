"""A real assignment 2 ThreeLayerConvNet runs on the course's fast layers, which need the
Cython im2col: grading gives numpy stand-ins for them (bpverify/submission/fastlayers.py), so
the net is graded, and a fault in it is still blamed on the guilty call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bpverify.cli import main
from bpverify.submission import fastlayers

FAST_LAYERS = '''
import numpy as np
try:
    from cs231n.im2col_cython import col2im_cython, im2col_cython
except ImportError:
    print("run the following from the cs231n directory and try again:")


def conv_forward_fast(x, w, b, conv_param):
    return conv_forward_im2col(x, w, b, conv_param)


def conv_forward_im2col(x, w, b, conv_param):
    cols = im2col_cython(x, w.shape[2], w.shape[3], conv_param["pad"], conv_param["stride"])
    return cols, None


def conv_backward_fast(dout, cache):
    raise NotImplementedError


def max_pool_forward_fast(x, pool_param):
    raise NotImplementedError


def max_pool_backward_fast(dout, cache):
    raise NotImplementedError
'''

LAYER_UTILS = '''
from cs231n.layers import *
from cs231n.fast_layers import *


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_fast(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    return conv_backward_fast(da, conv_cache)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    return affine_backward(relu_backward(dout, relu_cache), fc_cache)
'''

CNN = '''
import numpy as np

from cs231n.layers import *
from cs231n.fast_layers import *
from cs231n.layer_utils import *


class ThreeLayerConvNet(object):
    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100,
                 num_classes=10, weight_scale=1e-3, reg=0.0, dtype=np.float32):
        C, H, W = input_dim
        self.reg, self.dtype = reg, dtype
        self.params = {
            "W1": weight_scale * np.random.randn(num_filters, C, filter_size, filter_size),
            "b1": np.zeros(num_filters),
            "W2": weight_scale * np.random.randn(num_filters * (H // 2) * (W // 2), hidden_dim),
            "b2": np.zeros(hidden_dim),
            "W3": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b3": np.zeros(num_classes),
        }
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        p, cache1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        h, cache2 = affine_relu_forward(p, W2, b2)
        scores, cache3 = affine_forward(h, W3, b3)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * sum(np.sum(W * W) for W in (W1, W2, W3))
        grads = {}
        dh, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
        dp, grads["W2"], grads["b2"] = affine_relu_backward(dh, cache2)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dp, cache1)
        for k in ("W1", "W2", "W3"):
            grads[k] += self.reg * self.params[k]
        return loss, grads
'''


def _folder(root: Path, layers: str = "") -> Path:
    pkg = root / "assignment2" / "cs231n"
    (pkg / "classifiers").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "classifiers" / "__init__.py").write_text("")
    (pkg / "layers.py").write_text("from reference.layers import *  # noqa\n" + layers)
    (pkg / "fast_layers.py").write_text(FAST_LAYERS)
    (pkg / "layer_utils.py").write_text(LAYER_UTILS)
    (pkg / "classifiers" / "cnn.py").write_text(CNN)
    return root / "assignment2"


def _grade(folder: Path, out: Path) -> dict:
    assert main(["grade", str(folder), "--rubric", "cs231n", "--only", "ThreeLayerConvNet",
                 "--examples", "4", "--in-process", "--json", str(out)]) in (0, 1)
    return json.loads(out.read_text())


def test_a_net_on_the_fast_layers_is_graded(tmp_path: Path) -> None:
    result = _grade(_folder(tmp_path), tmp_path / "r.json")
    net = next(i for i in result["items"] if i["name"] == "ThreeLayerConvNet")
    assert net["status"] == "passed", [c["message"] for c in net["checks"]]
    assert any("fast layers" in n and "stand-ins" in n for n in result["notes"])


def test_a_net_on_a_wrong_layer_is_blamed_on_that_call(tmp_path: Path) -> None:
    """relu_backward passes dout through unmasked: the net fails, blamed on relu_backward."""
    wrong = "\n\ndef relu_backward(dout, cache):\n    return dout\n"
    result = _grade(_folder(tmp_path, wrong), tmp_path / "r.json")
    net = next(i for i in result["items"] if i["name"] == "ThreeLayerConvNet")
    gradients = next(c for c in net["checks"] if c["name"] == "gradients")
    assert gradients["status"] == "failed"
    assert "Guilty: relu_backward" in gradients["message"], gradients["message"]
    assert gradients["facts"]["where"] == "relu_backward"
    assert gradients["diagnosis"]["mistake"] == "conv-net-guilty-layer"


def test_the_stand_ins_agree_with_the_naive_layers() -> None:
    import reference

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), \
        rng.standard_normal(4)
    for stride, pad in ((1, 1), (2, 1), (1, 0)):
        param = {"stride": stride, "pad": pad}
        out, cache = fastlayers.conv_forward_fast(x, w, b, param)
        ref, ref_cache = reference.conv_forward_naive(x, w, b, param)
        assert np.allclose(out, ref)
        d = rng.standard_normal(out.shape)
        for got, want in zip(fastlayers.conv_backward_fast(d, cache),
                             reference.conv_backward_naive(d, ref_cache)):
            assert np.allclose(got, want)
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    x = rng.standard_normal((2, 3, 4, 6))
    out, cache = fastlayers.max_pool_forward_fast(x, pool)
    ref, ref_cache = reference.max_pool_forward_naive(x, pool)
    d = rng.standard_normal(out.shape)
    assert np.allclose(out, ref)
    assert np.allclose(fastlayers.max_pool_backward_fast(d, cache),
                       reference.max_pool_backward_naive(d, ref_cache))
