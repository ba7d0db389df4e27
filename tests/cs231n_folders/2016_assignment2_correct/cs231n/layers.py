import numpy as np


def affine_forward(x, w, b):
    """out = x (flattened to N rows) times w plus b; cache = (x, w, b)."""
    out = None
    rows = x.reshape(x.shape[0], -1)
    out = rows.dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx, dw, db = None, None, None
    dx = dout.dot(w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db

def relu_forward(x):
    out = np.maximum(x, 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx, x = None, cache
    dx = np.where(x > 0, dout, 0)
    return dx

def svm_loss(x, y):
    N = x.shape[0]
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct + 1.0)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    positive = (margins > 0).astype(x.dtype)
    dx = positive.copy()
    dx[np.arange(N), y] = -positive.sum(axis=1)
    dx /= N
    return loss, dx

def softmax_loss(x, y):
    probs = np.exp(x - np.max(x, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx

def dropout_forward(x, dropout_param):
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])
    mask = None
    if mode == 'train':
        mask = (np.random.rand(*x.shape) < p) / p
        out = x * mask
    else:
        out = x
    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    if dropout_param['mode'] == 'train':
        return dout * mask
    return dout

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)
    D = x.shape[1]
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))
    if mode == 'train':
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        xhat = (x - mu) / np.sqrt(var + eps)
        out = gamma * xhat + beta
        cache = (xhat, gamma, np.sqrt(var + eps))
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (N * std)
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
  xhat, gamma, std = cache
  N = dout.shape[0]
  dbeta = dout.sum(axis=0)
  dgamma = (dout * xhat).sum(axis=0)
  dx = gamma * (N * dout - dbeta - xhat * dgamma) / (N * std)
  return dx, dgamma, dbeta


def conv_forward_naive(x, w, b, conv_param):
  """
  A naive implementation of the forward pass for a convolutional layer.

  Input:
  - x: Input data of shape (N, C, H, W)
  - w: Filter weights of shape (F, C, HH, WW)
  - b: Biases, of shape (F,)
  - conv_param: A dictionary with the following keys:
    - 'stride': The number of pixels between adjacent receptive fields in the
      horizontal and vertical directions.
    - 'pad': The number of pixels that will be used to zero-pad the input.
  """
  out = None
  N, C, H, W = x.shape
  F, _, HH, WW = w.shape
  stride, pad = conv_param['stride'], conv_param['pad']
  H_out = 1 + (H + 2 * pad - HH) // stride
  W_out = 1 + (W + 2 * pad - WW) // stride
  x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
  out = np.zeros((N, F, H_out, W_out))
  for n in range(N):
    for f in range(F):
      for i in range(H_out):
        for j in range(W_out):
          field = x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW]
          out[n, f, i, j] = np.sum(field * w[f]) + b[f]
  cache = (x, w, b, conv_param)
  return out, cache


def conv_backward_naive(dout, cache):
  dx, dw, db = None, None, None
  x, w, b, conv_param = cache
  N, C, H, W = x.shape
  F, _, HH, WW = w.shape
  stride, pad = conv_param['stride'], conv_param['pad']
  H_out, W_out = dout.shape[2], dout.shape[3]
  x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), 'constant')
  dx_pad = np.zeros_like(x_pad)
  dw = np.zeros_like(w)
  db = np.zeros_like(b)
  for n in range(N):
    for f in range(F):
      db[f] += dout[n, f].sum()
      for i in range(H_out):
        for j in range(W_out):
          dx_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] += w[f] * dout[n, f, i, j]
          dw[f] += x_pad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * dout[n, f, i, j]
  dx = dx_pad[:, :, pad:pad+H, pad:pad+W]
  return dx, dw, db


def max_pool_forward_naive(x, pool_param):
  out = None
  N, C, H, W = x.shape
  HH, WW, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
  H_out = 1 + (H - HH) // stride
  W_out = 1 + (W - WW) // stride
  out = np.zeros((N, C, H_out, W_out))
  for n in range(N):
    for c in range(C):
      for i in range(H_out):
        for j in range(W_out):
          out[n, c, i, j] = np.max(x[n, c, i*stride:i*stride+HH, j*stride:j*stride+WW])
  cache = (x, pool_param)
  return out, cache


def max_pool_backward_naive(dout, cache):
  dx = None
  x, pool_param = cache
  N, C, H, W = x.shape
  HH, WW, stride = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
  H_out, W_out = dout.shape[2], dout.shape[3]
  dx = np.zeros_like(x)
  for n in range(N):
    for c in range(C):
      for i in range(H_out):
        for j in range(W_out):
          window = x[n, c, i*stride:i*stride+HH, j*stride:j*stride+WW]
          is_max = (window == np.max(window))
          # equal maxima share the gradient
          dx[n, c, i*stride:i*stride+HH, j*stride:j*stride+WW] += is_max * dout[n, c, i, j] / np.sum(is_max)
  return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
  """
  Computes the forward pass for spatial batch normalization.

  Inputs:
  - x: Input data of shape (N, C, H, W)
  - gamma: Scale parameter, of shape (C,)
  - beta: Shift parameter, of shape (C,)
  """
  out, cache = None, None
  N, C, H, W = x.shape
  x_cols = x.transpose(0, 2, 3, 1).reshape(-1, C)
  out_cols, cache = batchnorm_forward(x_cols, gamma, beta, bn_param)
  out = out_cols.reshape(N, H, W, C).transpose(0, 3, 1, 2)
  return out, cache


def spatial_batchnorm_backward(dout, cache):
  dx, dgamma, dbeta = None, None, None
  N, C, H, W = dout.shape
  dout_cols = dout.transpose(0, 2, 3, 1).reshape(-1, C)
  dx_cols, dgamma, dbeta = batchnorm_backward(dout_cols, cache)
  dx = dx_cols.reshape(N, H, W, C).transpose(0, 3, 1, 2)
  return dx, dgamma, dbeta
