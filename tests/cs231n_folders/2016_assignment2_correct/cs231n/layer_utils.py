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


def affine_bn_relu_forward(x, w, b, gamma, beta, bn_param):
  """affine - batch norm - relu, the helper the batch normalization notebook suggests."""
  a, fc_cache = affine_forward(x, w, b)
  an, bn_cache = batchnorm_forward(a, gamma, beta, bn_param)
  out, relu_cache = relu_forward(an)
  return out, (fc_cache, bn_cache, relu_cache)


def affine_bn_relu_backward(dout, cache):
  fc_cache, bn_cache, relu_cache = cache
  dan = relu_backward(dout, relu_cache)
  da, dgamma, dbeta = batchnorm_backward(dan, bn_cache)
  dx, dw, db = affine_backward(da, fc_cache)
  return dx, dw, db, dgamma, dbeta
