"""spatial_batchnorm_forward reshapes (N, C, H, W) to (N*H*W, C) without moving C last."""

from reference import *  # noqa: F403
from reference import batchnorm_backward_alt as _bn_backward
from reference import batchnorm_forward as _bn_forward


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    N, C, H, W = x.shape
    out, cache = _bn_forward(x.reshape(-1, C), gamma, beta, bn_param)
    return out.reshape(N, C, H, W), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = _bn_backward(dout.reshape(-1, C), cache)
    return dx.reshape(N, C, H, W), dgamma, dbeta


EXPECT = {
    "spatial_batchnorm_forward": "forward",
    "spatial_batchnorm_backward": "backward",
}
DIAGNOSES = {
    "spatial_batchnorm_forward": "spatial-no-transpose",
    "spatial_batchnorm_backward": "spatial-no-transpose",
}
DIAGNOSIS = "spatial-no-transpose"
