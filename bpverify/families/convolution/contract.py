"""CS231n's convolutional layers: names, signatures and conventions (assignment 2).

``conv_forward_naive(x, w, b, conv_param) -> (out, cache)`` with x of shape (N, C, H, W),
w of shape (F, C, HH, WW), b of shape (F,) and ``conv_param = {"stride": S, "pad": P}``: x is
zero-padded by P on both sides of its height and width, and each filter is slid over it as a
*correlation* (no flip), so out has shape (N, F, 1 + (H + 2P - HH) / S, 1 + (W + 2P - WW) / S).
``conv_backward_naive(dout, cache) -> (dx, dw, db)``.

``max_pool_forward_naive(x, pool_param) -> (out, cache)`` with ``pool_param = {"pool_height":
PH, "pool_width": PW, "stride": S}`` and no padding; ``max_pool_backward_naive(dout, cache) ->
dx``.

``ThreeLayerConvNet(input_dim=(C, H, W), num_filters, filter_size, hidden_dim, num_classes,
weight_scale, reg)``: conv (stride 1, pad (filter_size - 1) // 2) - relu - 2x2 max pool (stride
2) - affine - relu - affine - softmax; ``loss(X)`` returns scores, ``loss(X, y)`` returns (loss,
grads) for params W1, b1, W2, b2, W3, b3 with the L2 term 0.5 * reg * sum(W**2).
"""

from __future__ import annotations

from bpverify.contract import Item

__all__ = ["CATEGORY", "CONV_NET", "CS231N_MODULES", "ITEMS", "NET_CATEGORY", "NET_TRACED",
           "POOL_PARAM_KEYS"]

#: The categories of the family's items (the checks are in checks/).
CATEGORY = "cs231n-conv"
NET_CATEGORY = "cs231n-conv-net"

CONV_NET = "ThreeLayerConvNet"
#: The layer functions ThreeLayerConvNet's loss is replayed with, traced (its blame): the naive
#: layers, the course's fast ones (and bpverify's stand-ins for them), affine, ReLU, the loss.
NET_TRACED = ("conv_forward_naive", "conv_backward_naive", "conv_forward_fast",
              "conv_backward_fast", "max_pool_forward_naive", "max_pool_backward_naive",
              "max_pool_forward_fast", "max_pool_backward_fast", "affine_forward",
              "affine_backward", "relu_forward", "relu_backward", "softmax_loss")
#: The keys of CS231n's pool_param, in the order its docstring lists them.
POOL_PARAM_KEYS = ("pool_height", "pool_width", "stride")

ITEMS: tuple[Item, ...] = (
    Item("conv_forward_naive", CATEGORY, ("conv_forward_naive",)),
    Item("conv_backward_naive", CATEGORY, ("conv_forward_naive", "conv_backward_naive")),
    Item("max_pool_forward_naive", CATEGORY, ("max_pool_forward_naive",)),
    Item("max_pool_backward_naive", CATEGORY,
         ("max_pool_forward_naive", "max_pool_backward_naive")),
    Item(CONV_NET, NET_CATEGORY, (CONV_NET,)),
)

#: Where an assignment 2 folder defines them.
CS231N_MODULES: dict[str, tuple[str, ...]] = {
    "cs231n.layers": ("conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
                      "max_pool_backward_naive"),
    "cs231n.classifiers.cnn": (CONV_NET,),
}
