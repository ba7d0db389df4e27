"""Batch, layer and group normalization in the CS231n function style (assignment 2).

Every forward returns ``(out, cache)``; every backward ``(dx, dgamma, dbeta)``.  Statistics are
the mean and the *uncorrected* variance (divided by the count, as the course's docstrings say),
and ``eps`` is added to the variance before its square root, in train and test mode alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Cache = Any


def _normalize(x: np.ndarray, axes: tuple[int, ...], eps: float) -> tuple[np.ndarray, ...]:
    """(x_hat, mean, var, inv_std) with the statistics taken over ``axes`` (kept as size 1)."""
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    return (x - mean) * inv_std, mean, var, inv_std


def _normalize_backward(dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray,
                        axes: tuple[int, ...]) -> np.ndarray:
    """dx from dx_hat: the path through x_hat itself, through the mean and through the
    variance, in the usual simplified form."""
    m = np.prod([x_hat.shape[a] for a in axes])
    return inv_std / m * (m * dx_hat - dx_hat.sum(axis=axes, keepdims=True)
                          - x_hat * (dx_hat * x_hat).sum(axis=axes, keepdims=True))


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      bn_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Batch normalization of x (N, D) over the batch, per feature.

    bn_param: mode ('train' or 'test'; required), eps (1e-5), momentum (0.9), running_mean and
    running_var (D,).  In train mode the running averages become
    ``momentum * running + (1 - momentum) * batch statistic`` and are stored back in bn_param;
    in test mode they normalize x.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))
    if mode == "train":
        x_hat, mean, var, inv_std = _normalize(x, (0,), eps)
        out = gamma * x_hat + beta
        cache: Cache = (x, x_hat, mean, var, inv_std, gamma, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mean[0]
        running_var = momentum * running_var + (1 - momentum) * var[0]
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError(f"batchnorm_forward: bn_param['mode'] is {mode!r}; "
                         "expected 'train' or 'test'")
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """Backward through batchnorm's computational graph, node by node."""
    x, x_hat, mean, var, inv_std, gamma, eps = cache
    n = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    centred = x - mean
    # x_hat = centred * inv_std
    dinv_std = (dx_hat * centred).sum(axis=0)
    dcentred = dx_hat * inv_std
    # inv_std = (var + eps) ** -0.5
    dvar = dinv_std * -0.5 * (var + eps) ** -1.5
    # var = mean(centred ** 2): the path through the variance
    dcentred = dcentred + 2.0 * centred * dvar / n
    # centred = x - mean: the path through the mean
    dmean = -dcentred.sum(axis=0)
    dx = dcentred + dmean / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """The same gradients, simplified on paper into one expression for dx."""
    _, x_hat, _, _, inv_std, gamma, _ = cache
    dx = _normalize_backward(dout * gamma, x_hat, inv_std, (0,))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def layernorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                      ln_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Layer normalization of x (N, D) per example, over its features (the same in train and
    test mode); ln_param: eps (1e-5)."""
    eps = ln_param.get("eps", 1e-5)
    x_hat, _, _, inv_std = _normalize(x, (1,), eps)
    return gamma * x_hat + beta, (x_hat, inv_std, gamma)


def layernorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    x_hat, inv_std, gamma = cache
    dx = _normalize_backward(dout * gamma, x_hat, inv_std, (1,))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def spatial_batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                              bn_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Batch normalization of x (N, C, H, W) per channel, over N, H and W: the channels are
    moved last before the reshape to (N*H*W, C), so each column is one channel."""
    n, c, h, w = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, c)
    out, cache = batchnorm_forward(flat, gamma, beta, bn_param)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    n, c, h, w = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, c), cache)
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), dgamma, dbeta


def spatial_groupnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, G: int,
                              gn_param: dict[str, Any]) -> tuple[np.ndarray, Cache]:
    """Group normalization of x (N, C, H, W): each example's channels are split into G
    contiguous groups, each normalized over its channels and pixels.

    Inputs:
    - gamma: Scale parameter, of shape (1, C, 1, 1)
    - beta: Shift parameter, of shape (1, C, 1, 1)
    - G: the number of groups, a divisor of C
    - gn_param: eps (1e-5)
    """
    eps = gn_param.get("eps", 1e-5)
    n, c, h, w = x.shape
    grouped = x.reshape(n, G, c // G, h, w)
    x_hat, _, _, inv_std = _normalize(grouped, (2, 3, 4), eps)
    x_hat = x_hat.reshape(x.shape)
    g = gamma.reshape(1, c, 1, 1)
    out = g * x_hat + beta.reshape(1, c, 1, 1)
    return out, (x_hat, inv_std, g, G, gamma.shape)


def spatial_groupnorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, ...]:
    """dgamma and dbeta come back in gamma's own shape, (1, C, 1, 1)."""
    x_hat, inv_std, g, groups, shape = cache
    n, c, h, w = dout.shape
    dgamma = (dout * x_hat).sum(axis=(0, 2, 3)).reshape(shape)
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(shape)
    dx_hat = (dout * g).reshape(n, groups, c // groups, h, w)
    dx = _normalize_backward(dx_hat, x_hat.reshape(dx_hat.shape), inv_std, (2, 3, 4))
    return dx.reshape(dout.shape), dgamma, dbeta
