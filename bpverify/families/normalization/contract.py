"""CS231n's normalization layers: their names, signatures and the parameters they take.

``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)`` with ``bn_param`` holding
``mode`` ('train' or 'test'), ``eps``, ``momentum`` and the running averages ``running_mean``
and ``running_var``, which train mode updates and stores back in ``bn_param``.  Layer norm takes
``ln_param`` (``eps``), spatial group norm ``G`` and ``gn_param`` (``eps``).  Every backward is
``(dout, cache) -> (dx, dgamma, dbeta)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpverify.contract import Item

__all__ = ["BACKWARD", "CS231N_MODULES", "FC_NET", "FORWARD", "ITEMS", "NET", "NET_TRACED", "NORMS",
           "NormSpec", "spec_of"]

#: The categories of the family's items.
FORWARD = "cs231n-norm-forward"
BACKWARD = "cs231n-norm-backward"


@dataclass(frozen=True)
class NormSpec:
    """One normalization: what its statistics run over and what its forward takes."""

    base: str  #: "batchnorm": the functions batchnorm_forward and batchnorm_backward
    param: str  #: the name of its dict argument: "bn_param", "ln_param", "gn_param"
    spatial: bool  #: x is (N, C, H, W), else (N, D)
    #: it has a mode and running averages (train and test mode differ)
    running: bool
    #: the statistics, in words: "over the batch, for each feature"
    over: str
    grouped: bool = False  #: forward takes G before its param dict

    @property
    def forward(self) -> str:
        return f"{self.base}_forward"

    @property
    def backward(self) -> str:
        return f"{self.base}_backward"

    def signature(self) -> str:
        g = ", G" if self.grouped else ""
        return f"{self.forward}(x, gamma, beta{g}, {self.param})"


NORMS: dict[str, NormSpec] = {
    s.base: s
    for s in (
        NormSpec("batchnorm", "bn_param", False, True, "over the batch, for each feature"),
        NormSpec("layernorm", "ln_param", False, False,
                 "over the features, for each example"),
        NormSpec("spatial_batchnorm", "bn_param", True, True,
                 "over the batch and the pixels, for each channel"),
        NormSpec("spatial_groupnorm", "gn_param", True, False,
                 "over the pixels and the channels of each group, for each example",
                 grouped=True),
    )
}

ITEMS: tuple[Item, ...] = (
    Item("batchnorm_forward", FORWARD, ("batchnorm_forward",)),
    Item("batchnorm_backward", BACKWARD, ("batchnorm_forward", "batchnorm_backward")),
    Item("batchnorm_backward_alt", BACKWARD, ("batchnorm_forward", "batchnorm_backward_alt")),
    Item("layernorm_forward", FORWARD, ("layernorm_forward",)),
    Item("layernorm_backward", BACKWARD, ("layernorm_forward", "layernorm_backward")),
    Item("spatial_batchnorm_forward", FORWARD, ("spatial_batchnorm_forward",)),
    Item("spatial_batchnorm_backward", BACKWARD,
         ("spatial_batchnorm_forward", "spatial_batchnorm_backward")),
    Item("spatial_groupnorm_forward", FORWARD, ("spatial_groupnorm_forward",)),
    Item("spatial_groupnorm_backward", BACKWARD,
         ("spatial_groupnorm_forward", "spatial_groupnorm_backward")),
)

#: The category of FullyConnectedNet (normalization, dropout and the modes, in one item).
NET = "cs231n-norm-net"
#: CS231n's FullyConnectedNet: {affine - [norm] - relu - [dropout]} x (L - 1) - affine -
#: softmax; ``loss(X)`` gives the scores in test mode, ``loss(X, y)`` the loss and grads.
FC_NET = "FullyConnectedNet"
#: The layer functions its loss is replayed with, traced (layer-by-layer blame).
NET_TRACED = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
              "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
              "layernorm_forward", "layernorm_backward", "dropout_forward", "dropout_backward",
              "softmax_loss")

ITEMS = (*ITEMS, Item(FC_NET, NET, (FC_NET,)))

CS231N_MODULES: dict[str, tuple[str, ...]] = {
    "cs231n.layers": tuple(dict.fromkeys(n for i in ITEMS for n in i.needs
                                         if n != FC_NET)),
    "cs231n.classifiers.fc_net": (FC_NET,),
}


def spec_of(item: str) -> NormSpec:
    """The normalization an item belongs to: "batchnorm_backward_alt" -> batchnorm's."""
    base = item.removesuffix("_alt").rsplit("_", 1)[0]
    return NORMS[base]
