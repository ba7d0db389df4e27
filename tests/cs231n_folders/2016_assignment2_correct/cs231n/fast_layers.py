import numpy as np
try:
  from cs231n.im2col_cython import col2im_cython, im2col_cython
except ImportError:
  print 'run the following from the cs231n directory and try again:'
  print 'python setup.py build_ext --inplace'
from cs231n.im2col import *


def conv_forward_im2col(x, w, b, conv_param):
  cols = im2col_cython(x, w.shape[2], w.shape[3], conv_param['pad'], conv_param['stride'])
  return cols, None
