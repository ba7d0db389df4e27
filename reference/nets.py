"""Two- and three-layer fully connected nets built from the reference layers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss


class _FullyConnected:
    """affine - relu - ... - affine - softmax, with L2 regularization 0.5*reg*sum(W**2)."""

    def __init__(
        self, dims: Sequence[int], weight_scale: float, reg: float, seed: int = 0
    ) -> None:
        self.reg = reg
        self.num_layers = len(dims) - 1
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for i, (d_in, d_out) in enumerate(itertools.pairwise(dims), start=1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((d_in, d_out))
            self.params[f"b{i}"] = np.zeros(d_out)

    def loss(
        self, X: np.ndarray, y: np.ndarray | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores when y is None, else (loss, grads) with one gradient per parameter."""
        caches = []
        h = X
        for i in range(1, self.num_layers + 1):
            h, cache = affine_forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(cache)
            if i < self.num_layers:
                h, cache = relu_forward(h)
                caches.append(cache)
        if y is None:
            return h
        loss, dh = softmax_loss(h, y)
        grads: dict[str, np.ndarray] = {}
        for i in range(self.num_layers, 0, -1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            if i < self.num_layers:
                dh = relu_backward(dh, caches.pop())
            dh, dW, db = affine_backward(dh, caches.pop())
            grads[f"W{i}"] = dW + self.reg * W
            grads[f"b{i}"] = db
        return loss, grads


class TwoLayerNet(_FullyConnected):
    """affine - relu - affine - softmax."""

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        num_classes: int,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
    ) -> None:
        super().__init__((input_dim, hidden_dim, num_classes), weight_scale, reg)


class ThreeLayerNet(_FullyConnected):
    """affine - relu - affine - relu - affine - softmax."""

    def __init__(
        self,
        input_dim: int,
        hidden_dims: Sequence[int] = (100, 100),
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
    ) -> None:
        h1, h2 = hidden_dims
        super().__init__((input_dim, h1, h2, num_classes), weight_scale, reg)
