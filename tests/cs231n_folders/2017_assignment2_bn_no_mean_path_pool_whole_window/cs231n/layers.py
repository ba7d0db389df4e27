from builtins import range
import numpy as np


def affine_forward(x, w, b):
    """
    Computes the forward pass for an affine (fully-connected) layer.

    The input x has shape (N, d_1, ..., d_k) and contains a minibatch of N
    examples, where each example x[i] has shape (d_1, ..., d_k).
    """
    out = None
    N = x.shape[0]
    out = np.dot(x.reshape(N, -1), w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    dx, dw, db = None, None, None
    N = x.shape[0]
    dx = np.dot(dout, w.T).reshape(x.shape)
    dw = np.dot(x.reshape(N, -1).T, dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    out = None
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    dx, x = None, cache
    dx = dout * (x > 0)
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """
    Forward pass for batch normalization.

    Input:
    - x: Data of shape (N, D)
    - gamma: Scale parameter of shape (D,)
    - beta: Shift paremeter of shape (D,)
    - bn_param: Dictionary with the following keys:
      - mode: 'train' or 'test'; required
      - eps: Constant for numeric stability
      - momentum: Constant for running mean / variance.
      - running_mean: Array of shape (D,) giving running mean of features
      - running_var Array of shape (D,) giving running variance of features
    """
    mode = bn_param['mode']
    eps = bn_param.get('eps', 1e-5)
    momentum = bn_param.get('momentum', 0.9)

    N, D = x.shape
    running_mean = bn_param.get('running_mean', np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get('running_var', np.zeros(D, dtype=x.dtype))

    out, cache = None, None
    if mode == 'train':
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_centered = x - sample_mean
        inv_std = 1.0 / np.sqrt(sample_var + eps)
        x_hat = x_centered * inv_std
        out = gamma * x_hat + beta
        cache = (x_hat, x_centered, inv_std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
    elif mode == 'test':
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_hat + beta
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param['running_mean'] = running_mean
    bn_param['running_var'] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass for batch normalization, node by node through the graph."""
    dx, dgamma, dbeta = None, None, None
    x_hat, x_centered, inv_std, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * x_centered, axis=0) * -0.5 * inv_std ** 3
    dx_centered = dx_hat * inv_std + dvar * 2.0 * x_centered / N
    # x_centered = x - mean: the mean depends on x too
    dx = dx_centered
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    dx, dgamma, dbeta = None, None, None
    x_hat, x_centered, inv_std, gamma = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx = (gamma * inv_std / N) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def dropout_forward(x, dropout_param):
    """
    Performs the forward pass for (inverted) dropout.

    Inputs:
    - x: Input data, of any shape
    - dropout_param: A dictionary with the following keys:
      - p: Dropout parameter. We drop each neuron output with probability p.
      - mode: 'test' or 'train'. If the mode is train, then perform dropout;
        if the mode is test, then just return the input.
      - seed: Seed for the random number generator. Passing seed makes this
        function deterministic, which is needed for gradient checking but not
        in real networks.
    """
    p, mode = dropout_param['p'], dropout_param['mode']
    if 'seed' in dropout_param:
        np.random.seed(dropout_param['seed'])

    mask = None
    out = None
    if mode == 'train':
        mask = (np.random.rand(*x.shape) >= p) / (1 - p)
        out = x * mask
    elif mode == 'test':
        out = x

    cache = (dropout_param, mask)
    out = out.astype(x.dtype, copy=False)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param['mode']
    dx = None
    if mode == 'train':
        dx = dout * mask
    elif mode == 'test':
        dx = dout
    return dx


def conv_forward_naive(x, w, b, conv_param):
    """
    A naive implementation of the forward pass for a convolutional layer.

    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with the following keys:
      - 'stride': The number of pixels between adjacent receptive fields.
      - 'pad': The number of pixels that will be used to zero-pad the input.
    """
    out = None
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S, P = conv_param['stride'], conv_param['pad']
    H_out = 1 + (H + 2 * P - HH) // S
    W_out = 1 + (W + 2 * P - WW) // S
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)), 'constant')
    out = np.zeros((N, F, H_out, W_out))
    w_rows = w.reshape(F, -1)
    for i in range(H_out):
        for j in range(W_out):
            field = xp[:, :, i * S:i * S + HH, j * S:j * S + WW].reshape(N, -1)
            out[:, :, i, j] = field.dot(w_rows.T) + b
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    dx, dw, db = None, None, None
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S, P = conv_param['stride'], conv_param['pad']
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)), 'constant')
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = dout.sum(axis=(0, 2, 3))
    for i in range(H_out):
        for j in range(W_out):
            g = dout[:, :, i, j]
            field = xp[:, :, i * S:i * S + HH, j * S:j * S + WW]
            dw += np.tensordot(g, field, axes=([0], [0]))
            dxp[:, :, i * S:i * S + HH, j * S:j * S + WW] += np.tensordot(g, w, axes=([1], [0]))
    dx = dxp[:, :, P:P + H, P:P + W]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """
    - x: Input data, of shape (N, C, H, W)
    - pool_param: dictionary with the following keys:
      - 'pool_height': The height of each pooling region
      - 'pool_width': The width of each pooling region
      - 'stride': The distance between adjacent pooling regions
    """
    out = None
    N, C, H, W = x.shape
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    H_out = 1 + (H - ph) // s
    W_out = 1 + (W - pw) // s
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    dx = None
    x, pool_param = cache
    N, C, H_out, W_out = dout.shape
    ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
    dx = np.zeros(x.shape)
    for i in range(H_out):
        for j in range(W_out):
            # every element of the window passed the max, so all of them get dout
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j][:, :, None, None]
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """
    - x: Input data of shape (N, C, H, W)
    - gamma: Scale parameter, of shape (C,)
    - beta: Shift parameter, of shape (C,)
    """
    out, cache = None, None
    N, C, H, W = x.shape
    x_flat = np.transpose(x, (0, 2, 3, 1)).reshape(N * H * W, C)
    out_flat, cache = batchnorm_forward(x_flat, gamma, beta, bn_param)
    out = np.transpose(out_flat.reshape(N, H, W, C), (0, 3, 1, 2))
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    dx, dgamma, dbeta = None, None, None
    N, C, H, W = dout.shape
    dout_flat = np.transpose(dout, (0, 2, 3, 1)).reshape(N * H * W, C)
    dx_flat, dgamma, dbeta = batchnorm_backward_alt(dout_flat, cache)
    dx = np.transpose(dx_flat.reshape(N, H, W, C), (0, 3, 1, 2))
    return dx, dgamma, dbeta


def svm_loss(x, y):
    N = x.shape[0]
    correct_class_scores = x[np.arange(N), y]
    margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    num_pos = np.sum(margins > 0, axis=1)
    dx = np.zeros_like(x)
    dx[margins > 0] = 1
    dx[np.arange(N), y] -= num_pos
    dx /= N
    return loss, dx


def softmax_loss(x, y):
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx
