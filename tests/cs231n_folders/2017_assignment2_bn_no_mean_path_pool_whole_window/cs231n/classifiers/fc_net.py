from builtins import range
from builtins import object
import numpy as np

from cs231n.layers import *
from cs231n.layer_utils import *


class TwoLayerNet(object):
    """
    A two-layer fully-connected neural network with ReLU nonlinearity and
    softmax loss that uses a modular layer design.
    """

    def __init__(self, input_dim=3*32*32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0):
        self.params = {}
        self.reg = reg
        self.params['W1'] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params['b1'] = np.zeros(hidden_dim)
        self.params['W2'] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params['b2'] = np.zeros(num_classes)

    def loss(self, X, y=None):
        scores = None
        h, h_cache = affine_relu_forward(X, self.params['W1'], self.params['b1'])
        scores, s_cache = affine_forward(h, self.params['W2'], self.params['b2'])
        if y is None:
            return scores

        loss, grads = 0, {}
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(self.params['W1'] ** 2) +
                                  np.sum(self.params['W2'] ** 2))
        dh, grads['W2'], grads['b2'] = affine_backward(dscores, s_cache)
        _, grads['W1'], grads['b1'] = affine_relu_backward(dh, h_cache)
        grads['W2'] += self.reg * self.params['W2']
        grads['W1'] += self.reg * self.params['W1']
        return loss, grads


class FullyConnectedNet(object):
    """
    A fully-connected neural network with an arbitrary number of hidden layers,
    ReLU nonlinearities, and a softmax loss function. This will also implement
    dropout and batch normalization as options.

    {affine - [batch norm] - relu - [dropout]} x (L - 1) - affine - softmax
    """

    def __init__(self, hidden_dims, input_dim=3*32*32, num_classes=10,
                 dropout=0, use_batchnorm=False, reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None):
        """
        - dropout: Scalar between 0 and 1 giving dropout strength. If dropout=0 then
          the network should not use dropout at all.
        - use_batchnorm: Whether or not the network should use batch normalization.
        """
        self.use_batchnorm = use_batchnorm
        self.use_dropout = dropout > 0
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        dims = [input_dim] + hidden_dims + [num_classes]
        for l in range(self.num_layers):
            self.params['W' + str(l + 1)] = weight_scale * np.random.randn(dims[l], dims[l + 1])
            self.params['b' + str(l + 1)] = np.zeros(dims[l + 1])
            if self.use_batchnorm and l < self.num_layers - 1:
                self.params['gamma' + str(l + 1)] = np.ones(dims[l + 1])
                self.params['beta' + str(l + 1)] = np.zeros(dims[l + 1])

        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {'mode': 'train', 'p': dropout}
            if seed is not None:
                self.dropout_param['seed'] = seed

        self.bn_params = []
        if self.use_batchnorm:
            self.bn_params = [{'mode': 'train'} for i in range(self.num_layers - 1)]

        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        mode = 'test' if y is None else 'train'

        if self.use_dropout:
            self.dropout_param['mode'] = mode
        if self.use_batchnorm:
            for bn_param in self.bn_params:
                bn_param['mode'] = mode

        scores = None
        caches = []
        out = X
        for l in range(1, self.num_layers):
            W, b = self.params['W' + str(l)], self.params['b' + str(l)]
            if self.use_batchnorm:
                out, cache = affine_bn_relu_forward(out, W, b, self.params['gamma' + str(l)],
                                                    self.params['beta' + str(l)],
                                                    self.bn_params[l - 1])
            else:
                out, cache = affine_relu_forward(out, W, b)
            do_cache = None
            if self.use_dropout:
                out, do_cache = dropout_forward(out, self.dropout_param)
            caches.append((cache, do_cache))
        L = self.num_layers
        scores, last_cache = affine_forward(out, self.params['W' + str(L)],
                                            self.params['b' + str(L)])

        if mode == 'test':
            return scores

        loss, grads = 0.0, {}
        loss, dout = softmax_loss(scores, y)
        for l in range(1, L + 1):
            loss += 0.5 * self.reg * np.sum(self.params['W' + str(l)] ** 2)

        dout, dW, db = affine_backward(dout, last_cache)
        grads['W' + str(L)] = dW + self.reg * self.params['W' + str(L)]
        grads['b' + str(L)] = db
        for l in range(L - 1, 0, -1):
            cache, do_cache = caches[l - 1]
            if self.use_dropout:
                dout = dropout_backward(dout, do_cache)
            if self.use_batchnorm:
                dout, dW, db, dgamma, dbeta = affine_bn_relu_backward(dout, cache)
                grads['gamma' + str(l)] = dgamma
                grads['beta' + str(l)] = dbeta
            else:
                dout, dW, db = affine_relu_backward(dout, cache)
            grads['W' + str(l)] = dW + self.reg * self.params['W' + str(l)]
            grads['b' + str(l)] = db
        return loss, grads
