"""ThreeLayerConvNet is right itself but built on a max_pool_backward_naive that fills whole windows."""

import numpy as np

from reference import *  # noqa: F403


class ThreeLayerConvNet:
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
        a, conv_cache = conv_forward_naive(X, W1, b1, conv_param)  # noqa: F405
        r, relu1_cache = relu_forward(a)  # noqa: F405
        p, pool_cache = max_pool_forward_naive(r, pool_param)  # noqa: F405
        h, fc1_cache = affine_forward(p, W2, b2)  # noqa: F405
        hr, relu2_cache = relu_forward(h)  # noqa: F405
        scores, fc2_cache = affine_forward(hr, W3, b3)  # noqa: F405
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)  # noqa: F405
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2) + np.sum(W3 * W3))
        grads = {}
        dhr, grads["W3"], grads["b3"] = affine_backward(dscores, fc2_cache)  # noqa: F405
        dp, grads["W2"], grads["b2"] = affine_backward(  # noqa: F405
            relu_backward(dhr, relu2_cache), fc1_cache)  # noqa: F405
        dr = max_pool_backward_naive(dp, pool_cache)  # noqa: F405
        _, grads["W1"], grads["b1"] = conv_backward_naive(  # noqa: F405
            relu_backward(dr, relu1_cache), conv_cache)  # noqa: F405
        grads["W1"] += self.reg * W1
        grads["W2"] += self.reg * W2
        grads["W3"] += self.reg * W3
        return loss, grads



def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    dx[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw] += \
                        dout[n, c, i, j]
    return dx



EXPECT = {"max_pool_backward_naive": "backward", "ThreeLayerConvNet": "gradients"}
DIAGNOSES = {"max_pool_backward_naive": "pool-whole-window",
             "ThreeLayerConvNet": "conv-net-guilty-layer"}
