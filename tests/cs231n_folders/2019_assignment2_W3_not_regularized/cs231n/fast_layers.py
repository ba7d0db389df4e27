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


def conv_forward_strides(x, w, b, conv_param):
    N, C, H, W = x.shape
    return np.zeros((N, w.shape[0], H, W)), None
