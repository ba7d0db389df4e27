"""CS231n's FullyConnectedNet with batch or layer normalization and inverted dropout, built from
the reference layers: {affine - [norm] - relu - [dropout]} x (L - 1) - affine - softmax.

The 2021+ starter's interface (``normalization``, ``dropout_keep_ratio``).  The steps a student
writes are methods (the modes, the L2 term, storing a layer's gradients), so that a zoo mistake
can redefine one of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .dropout import dropout_backward, dropout_forward
from .layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss
from .normalization import (
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)


class FullyConnectedNet:
    """``normalization`` is None, "batchnorm" or "layernorm"; ``dropout_keep_ratio`` is the
    probability of keeping a unit (1: no dropout)."""

    def __init__(self, hidden_dims: Sequence[int], input_dim: int = 3 * 32 * 32,
                 num_classes: int = 10, dropout_keep_ratio: float = 1, normalization:
                 str | None = None, reg: float = 0.0, weight_scale: float = 1e-2,
                 dtype: Any = np.float32, seed: int | None = None) -> None:
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        dims = [input_dim, *hidden_dims, num_classes]
        rng = np.random.default_rng(0 if seed is None else seed)
        self.params: dict[str, np.ndarray] = {}
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal(dims[i - 1:i + 1])
            self.params[f"b{i}"] = np.zeros(dims[i])
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])
        self.dropout_param: dict[str, Any] = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        self.bn_params: list[dict[str, Any]] = [
            {"mode": "train"} for _ in range(self.num_layers - 1)] if normalization else []
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def set_mode(self, mode: str) -> None:
        """'train' or 'test', in dropout_param and every bn_param."""
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

    def l2(self) -> tuple[float, dict[str, np.ndarray]]:
        """0.5 * reg * sum(W**2) over the weights, and its gradient reg * W for each."""
        weights = [f"W{i}" for i in range(1, self.num_layers + 1)]
        term = sum(0.5 * self.reg * float(np.sum(self.params[k] ** 2)) for k in weights)
        return term, {k: self.reg * self.params[k] for k in weights}

    def store_norm_grads(self, grads: dict[str, np.ndarray], i: int, dgamma: np.ndarray,
                         dbeta: np.ndarray) -> None:
        grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta

    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> Any:
        """Scores when y is None (test mode), else (loss, grads) in train mode."""
        X = X.astype(self.dtype)
        self.set_mode("test" if y is None else "train")
        h, caches = X.reshape(X.shape[0], -1), []
        for i in range(1, self.num_layers):
            h, c_aff = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            c_norm = None
            gamma = self.params.get(f"gamma{i}", np.ones(1))
            beta = self.params.get(f"beta{i}", np.zeros(1))
            if self.normalization == "batchnorm":
                h, c_norm = batchnorm_forward(h, gamma, beta, self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                h, c_norm = layernorm_forward(h, gamma, beta, self.bn_params[i - 1])
            h, c_relu = relu_forward(h)
            c_drop = None
            if self.use_dropout:
                h, c_drop = dropout_forward(h, self.dropout_param)
            caches.append((c_aff, c_norm, c_relu, c_drop))
        L = self.num_layers
        scores, c_last = affine_forward(h, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores
        loss, d = softmax_loss(scores, y)
        grads: dict[str, np.ndarray] = {}
        d, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(d, c_last)
        for i in range(L - 1, 0, -1):
            c_aff, c_norm, c_relu, c_drop = caches[i - 1]
            if c_drop is not None:
                d = dropout_backward(d, c_drop)
            d = relu_backward(d, c_relu)
            if self.normalization == "batchnorm":
                d, dgamma, dbeta = batchnorm_backward_alt(d, c_norm)
                self.store_norm_grads(grads, i, dgamma, dbeta)
            elif self.normalization == "layernorm":
                d, dgamma, dbeta = layernorm_backward(d, c_norm)
                self.store_norm_grads(grads, i, dgamma, dbeta)
            d, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(d, c_aff)
        term, dl2 = self.l2()
        for k, g in dl2.items():
            grads[k] = grads[k] + g
        return loss + term, grads
