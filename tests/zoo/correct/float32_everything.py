"""Every name in float32, CS231n's default dtype: inputs cast with astype(np.float32), float32 out."""

import numpy as np

F32 = np.float32


def _f32(v):
    return np.asarray(v).astype(F32)


class AddGate:
    def forward(self, x, y):
        return _f32(x) + _f32(y)

    def backward(self, dz):
        dz = _f32(dz)
        return dz, dz.copy()


class MultiplyGate:
    def forward(self, x, y):
        self.x, self.y = _f32(x), _f32(y)
        return self.x * self.y

    def backward(self, dz):
        dz = _f32(dz)
        return self.y * dz, self.x * dz


class MaxGate:
    def forward(self, x, y):
        x, y = _f32(x), _f32(y)
        self.x_wins = x >= y
        return np.maximum(x, y)

    def backward(self, dz):
        dz = _f32(dz)
        zero = F32(0)
        return np.where(self.x_wins, dz, zero), np.where(self.x_wins, zero, dz)


class ExpGate:
    def forward(self, x):
        self.z = np.exp(_f32(x))
        return self.z

    def backward(self, dz):
        return self.z * _f32(dz)


class ReciprocalGate:
    def forward(self, x):
        self.x = _f32(x)
        return F32(1) / self.x

    def backward(self, dz):
        return -_f32(dz) / (self.x * self.x)


class AddConstGate:
    def __init__(self, c):
        self.c = F32(c)

    def forward(self, x):
        return _f32(x) + self.c

    def backward(self, dz):
        return _f32(dz)


class ScaleGate:
    def __init__(self, a):
        self.a = F32(a)

    def forward(self, x):
        return self.a * _f32(x)

    def backward(self, dz):
        return self.a * _f32(dz)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, F32(1) / (F32(1) + e), e / (F32(1) + e)).astype(F32)


class SigmoidGate:
    def forward(self, x):
        self.s = _sigmoid(_f32(x))
        return self.s

    def backward(self, dz):
        return (F32(1) - self.s) * self.s * _f32(dz)


class SigmoidNeuron:
    def forward(self, w, x):
        self.w, self.x = _f32(w), _f32(x)
        self.s = _sigmoid(self.w[:-1] @ self.x + self.w[-1])
        return self.s

    def backward(self, dz):
        ddot = (F32(1) - self.s) * self.s * _f32(dz)
        return np.append(self.x, F32(1)) * ddot, self.w[:-1] * ddot


def affine_forward(x, w, b):
    x, w, b = _f32(x), _f32(w), _f32(b)
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dout = _f32(dout)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    x = _f32(x)
    return np.maximum(F32(0), x), x


def relu_backward(dout, cache):
    x = cache
    return _f32(dout) * (x > 0)


def softmax_loss(x, y):
    x = _f32(x)
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= F32(1)
    dx /= F32(N)
    return loss, dx


def svm_loss(x, y):
    x = _f32(x)
    N = x.shape[0]
    correct = x[np.arange(N), y]
    margins = np.maximum(F32(0), x - correct[:, None] + F32(1))
    margins[np.arange(N), y] = 0
    loss = margins.sum() / F32(N)
    dx = (margins > 0).astype(F32)
    dx[np.arange(N), y] = -dx.sum(axis=1)
    dx /= F32(N)
    return loss, dx


class _Net:
    def __init__(self, dims, weight_scale, reg):
        self.reg = F32(reg)
        self.n = len(dims) - 1
        self.params = {}
        for i in range(self.n):
            self.params[f"W{i + 1}"] = (
                weight_scale * np.random.randn(dims[i], dims[i + 1])
            ).astype(F32)
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1], dtype=F32)

    def loss(self, X, y=None):
        h = _f32(X)
        caches = []
        for i in range(1, self.n + 1):
            h, c = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(c)
            if i < self.n:
                h, c = relu_forward(h)
                caches.append(c)
        if y is None:
            return h
        loss, dh = softmax_loss(h, y)
        grads = {}
        for i in range(self.n, 0, -1):
            W = self.params[f"W{i}"]
            loss += F32(0.5) * self.reg * np.sum(W * W)
            if i < self.n:
                dh = relu_backward(dh, caches.pop())
            dh, dW, grads[f"b{i}"] = affine_backward(dh, caches.pop())
            grads[f"W{i}"] = dW + self.reg * W
        return loss, grads


class TwoLayerNet(_Net):
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0):
        super().__init__([input_dim, hidden_dim, num_classes], weight_scale, reg)


class ThreeLayerNet(_Net):
    def __init__(self, input_dim, hidden_dims=(100, 100), num_classes=10, weight_scale=1e-3,
                 reg=0.0):
        super().__init__([input_dim, *hidden_dims, num_classes], weight_scale, reg)
