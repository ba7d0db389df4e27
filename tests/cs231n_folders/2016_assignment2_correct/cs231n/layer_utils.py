from cs231n.layers import *
from cs231n.fast_layers import *


def affine_relu_forward(x, w, b):
  a, fc_cache = affine_forward(x, w, b)
  out, relu_cache = relu_forward(a)
  return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
  fc_cache, relu_cache = cache
  da = relu_backward(dout, relu_cache)
  return affine_backward(da, fc_cache)
