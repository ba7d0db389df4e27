"""Linear losses with 2016's 0.5·reg·ΣW² (hinges at 0 counted, float32 softmax) and valid optim variants."""

import numpy as np

from reference import *  # noqa: F403


def svm_loss_naive(W, X, y, reg):
    dW = np.zeros(W.shape)
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        for j in range(W.shape[1]):
            if j == y[i]:
                continue
            margin = scores[j] - scores[y[i]] + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    dW += reg * W
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X.dot(W)
    margins = scores - scores[np.arange(N), y].reshape(-1, 1) + 1
    margins[np.arange(N), y] = -1  # never counted
    loss = np.sum(np.maximum(margins, 0)) / N + 0.5 * reg * np.sum(W * W)
    active = (margins >= 0) * 1.0  # a hinge at exactly 0 counts: a valid subgradient
    active[np.arange(N), y] = -np.sum(active, axis=1)
    return loss, X.T.dot(active) / N + reg * W


def softmax_loss_naive(W, X, y, reg):
    loss, dW = 0.0, np.zeros_like(W)
    for i in range(X.shape[0]):
        f = X[i].dot(W)
        f -= np.max(f)
        p = np.exp(f) / np.sum(np.exp(f))
        loss += -np.log(p[y[i]])
        p[y[i]] -= 1
        dW += np.outer(X[i], p)
    loss = loss / X.shape[0] + 0.5 * reg * np.sum(W * W)
    return loss, dW / X.shape[0] + reg * W


def softmax_loss_vectorized(W, X, y, reg):
    X32, W32 = X.astype(np.float32), W.astype(np.float32)
    N = X.shape[0]
    f = X32.dot(W32)
    f -= f.max(axis=1, keepdims=True)
    p = np.exp(f) / np.exp(f).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).sum() / N + 0.5 * reg * np.sum(W32 * W32)
    p[np.arange(N), y] -= 1
    return loss, X32.T.dot(p) / N + reg * W32


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    w += v  # in place, as the starters' sgd does
    config["velocity"] = v
    return w, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["decay_rate"] * config["cache"] + (
        1 - config["decay_rate"]) * np.square(dw)
    w -= config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    return w, config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 1)  # the 2016 starter's default
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] += 1
    t = config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw**2
    # the paper's efficient form: corrections folded into the step size
    alpha = config["learning_rate"] * np.sqrt(1 - b2**t) / (1 - b1**t)
    next_w = w - alpha * config["m"] / (np.sqrt(config["v"]) + config["epsilon"])
    return next_w, config
