from __future__ import print_function
import numpy as np

try:
    from cs231n.im2col_cython import col2im_cython, im2col_cython
    from cs231n.im2col_cython import col2im_6d_cython
except ImportError:
    print('run the following from the cs231n directory and try again:')
    print('python setup.py build_ext --inplace')
    print('You may also need to restart your iPython kernel')
from cs231n.im2col import *


def conv_forward_im2col(x, w, b, conv_param):
    """The convolution as one matrix product over the columns of im2col."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = conv_param["stride"], conv_param["pad"]
    out_h = (H + 2 * pad - HH) // stride + 1
    out_w = (W + 2 * pad - WW) // stride + 1
    cols = im2col_indices(x, HH, WW, pad, stride)
    res = w.reshape(F, -1).dot(cols) + b.reshape(-1, 1)
    out = res.reshape(F, out_h, out_w, N).transpose(3, 0, 1, 2)
    cache = (x, w, b, conv_param, cols)
    return out, cache


def conv_backward_im2col(dout, cache):
    x, w, b, conv_param, cols = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    F, _, HH, WW = w.shape
    db = np.sum(dout, axis=(0, 2, 3))
    dout_rows = dout.transpose(1, 2, 3, 0).reshape(F, -1)
    dw = dout_rows.dot(cols.T).reshape(w.shape)
    dcols = w.reshape(F, -1).T.dot(dout_rows)
    dx = col2im_indices(dcols, x.shape, HH, WW, pad, stride)
    return dx, dw, db


conv_forward_fast = conv_forward_im2col
conv_backward_fast = conv_backward_im2col


def max_pool_forward_fast(x, pool_param):
    """Pooling windows that tile the input, by one reshape."""
    N, C, H, W = x.shape
    PH, PW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    assert PH == PW == S and H % PH == 0 and W % PW == 0, "only tiling windows"
    blocks = x.reshape(N, C, H // PH, PH, W // PW, PW)
    out = blocks.max(axis=3).max(axis=4)
    cache = (x, blocks, out, pool_param)
    return out, cache


def max_pool_backward_fast(dout, cache):
    x, blocks, out, pool_param = cache
    is_max = blocks == out[:, :, :, None, :, None]
    # a window with tied maxima shares its gradient among them
    share = is_max / np.sum(is_max, axis=(3, 5), keepdims=True)
    dx = share * dout[:, :, :, None, :, None]
    return dx.reshape(x.shape)
