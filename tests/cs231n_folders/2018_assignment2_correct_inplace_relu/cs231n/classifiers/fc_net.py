from builtins import range
from builtins import object
import numpy as np

from cs231n.layers import *
from cs231n.layer_utils import *


class TwoLayerNet(object):
    """affine - relu - affine - softmax, with L2 regularization of the weights."""

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params['W1'] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params['b1'] = np.zeros(hidden_dim)
        self.params['W2'] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params['b2'] = np.zeros(num_classes)

    def loss(self, X, y=None):
        W1, b1 = self.params['W1'], self.params['b1']
        W2, b2 = self.params['W2'], self.params['b2']
        hidden, cache_h = affine_relu_forward(X, W1, b1)
        scores, cache_s = affine_forward(hidden, W2, b2)
        if y is None:
            return scores
        loss, grads = 0, {}
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dhidden, grads['W2'], grads['b2'] = affine_backward(dscores, cache_s)
        _, grads['W1'], grads['b1'] = affine_relu_backward(dhidden, cache_h)
        grads['W1'] += self.reg * W1
        grads['W2'] += self.reg * W2
        return loss, grads

class FullyConnectedNet(object):
    """{affine - [batch norm] - relu - [dropout]} x (L - 1) - affine - softmax."""

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout=1, normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None):
        self.normalization = normalization
        self.use_dropout = dropout != 1
        keep = dropout
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(1, self.num_layers + 1):
            self.params['W%d' % i] = weight_scale * np.random.randn(dims[i - 1], dims[i])
            self.params['b%d' % i] = np.zeros(dims[i])
            if self.normalization and i < self.num_layers:
                self.params['gamma%d' % i] = np.ones(dims[i])
                self.params['beta%d' % i] = np.zeros(dims[i])
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {'mode': 'train', 'p': keep}
            if seed is not None:
                self.dropout_param['seed'] = seed
        self.bn_params = []
        if self.normalization == 'batchnorm':
            self.bn_params = [{'mode': 'train'} for i in range(self.num_layers - 1)]
        if self.normalization == 'layernorm':
            self.bn_params = [{} for i in range(self.num_layers - 1)]
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = 'test' if y is None else 'train'
        if self.use_dropout:
            self.dropout_param['mode'] = mode
        for bn_param in self.bn_params:
            bn_param['mode'] = mode
        L = self.num_layers
        h = X
        caches = []
        for i in range(1, L):
            W, b = self.params['W%d' % i], self.params['b%d' % i]
            if self.normalization == 'batchnorm':
                h, cache = affine_bn_relu_forward(h, W, b, self.params['gamma%d' % i],
                                                  self.params['beta%d' % i], self.bn_params[i - 1])
            elif self.normalization == 'layernorm':
                h, cache = affine_ln_relu_forward(h, W, b, self.params['gamma%d' % i],
                                                  self.params['beta%d' % i], self.bn_params[i - 1])
            else:
                a, fc_cache = affine_forward(h, W, b)
                h, relu_cache = relu_forward(a)
                cache = (fc_cache, relu_cache)
            do_cache = None
            if self.use_dropout:
                h, do_cache = dropout_forward(h, self.dropout_param)
            caches.append((cache, do_cache))
        scores, cache = affine_forward(h, self.params['W%d' % L], self.params['b%d' % L])
        if mode == 'test':
            return scores
        loss, grads = 0.0, {}
        loss, dout = softmax_loss(scores, y)
        for i in range(1, self.num_layers + 1):
            W = self.params['W%d' % i]
            loss += 0.5 * self.reg * np.sum(W * W)
        dout, dW, db = affine_backward(dout, cache)
        grads['W%d' % L], grads['b%d' % L] = dW, db
        for i in range(L - 1, 0, -1):
            cache, do_cache = caches[i - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, do_cache)
            if self.normalization == 'batchnorm':
                dout, dW, db, dgamma, dbeta = affine_bn_relu_backward(dout, cache)
                grads['gamma%d' % i], grads['beta%d' % i] = dgamma, dbeta
            elif self.normalization == 'layernorm':
                dout, dW, db, dgamma, dbeta = affine_ln_relu_backward(dout, cache)
                grads['gamma%d' % i], grads['beta%d' % i] = dgamma, dbeta
            else:
                dout, dW, db = affine_relu_backward(dout, cache)
            grads['W%d' % i], grads['b%d' % i] = dW, db
        for i in range(1, self.num_layers + 1):
            grads['W%d' % i] += self.reg * self.params['W%d' % i]
        return loss, grads
