"""CS231n's layer functions, losses and fully connected nets, as the default contract names them
(docs/contract.md): ``affine_forward(x, w, b) -> (out, cache)``, ``affine_backward(dout, cache)
-> (dx, dw, db)``, ``softmax_loss(x, y) -> (loss, dx)``, ``TwoLayerNet(...).loss(X, y) -> (loss,
grads)``, ..."""

from __future__ import annotations

from bpverify.contract import Item

__all__ = ["ITEMS", "LAYER", "LOSS", "NET"]

#: The categories of the family's items (the checks are in checks/, one module each).
LAYER, LOSS, NET = "layer", "loss", "net"

#: A backward item needs its forward too: its checks run the forward to get the cache.
ITEMS: tuple[Item, ...] = (
    Item("affine_forward", LAYER, ("affine_forward",)),
    Item("affine_backward", LAYER, ("affine_forward", "affine_backward")),
    Item("relu_forward", LAYER, ("relu_forward",)),
    Item("relu_backward", LAYER, ("relu_forward", "relu_backward")),
    Item("softmax_loss", LOSS, ("softmax_loss",)),
    Item("svm_loss", LOSS, ("svm_loss",)),
    Item("TwoLayerNet", NET, ("TwoLayerNet",)),
    Item("ThreeLayerNet", NET, ("ThreeLayerNet",)),
)
