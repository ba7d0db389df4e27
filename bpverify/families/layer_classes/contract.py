"""The layer classes of "Deep Learning from Scratch" (Saito, O'Reilly): names and interfaces.

Each class is built with its parameters (``Affine(W, b)``) or with nothing, runs
``forward(...)`` and ``backward(dout)``; parameters' gradients stay on the instance
(``affine.dW``, ``affine.db``), and ``SoftmaxWithLoss.backward(dout=1)`` is called at the end of
the net.  Learners spell the names in many ways (``Mullayer``, ``ReLU``, ``SoftMaxWithLoss``):
:data:`NAME_VARIANTS` lists the spellings recognised besides the canonical one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpverify.contract import Item

__all__ = [
    "ITEMS",
    "LAYER_CLASSES",
    "LAYER_NET",
    "NET_LAYERS",
    "LayerClassSpec",
    "name_key",
]

#: The category of the family's items (the checks are in checks/).
CATEGORY = "layer-class"
NET_CATEGORY = "layer-class-net"


@dataclass(frozen=True)
class LayerClassSpec:
    """One layer class of the book: what it is built with, takes and gives back."""

    name: str
    init: tuple[str, ...]  #: constructor arguments, e.g. ("W", "b")
    inputs: tuple[str, ...]  #: forward's arguments, e.g. ("x", "y")
    grads: tuple[str, ...]  #: what backward returns, e.g. ("dx", "dy")
    params: tuple[str, ...] = ()  #: gradients read from the instance after backward
    #: Lower-case spellings (after dropping "_" and a "layer" suffix) that mean this class.
    keys: tuple[str, ...] = ()
    #: backward takes no upstream gradient or ignores it (the loss layer ends the net).
    last: bool = False

    def forward_signature(self) -> str:
        return f"forward(self, {', '.join(self.inputs)})"

    def backward_signature(self) -> str:
        return "backward(self, dout=1)" if self.last else "backward(self, dout)"

    def init_signature(self) -> str:
        return f"__init__(self{''.join(', ' + a for a in self.init)})"


LAYER_CLASSES: dict[str, LayerClassSpec] = {
    s.name: s
    for s in (
        LayerClassSpec("MulLayer", (), ("x", "y"), ("dx", "dy"),
                       keys=("mul", "mult", "multi", "multiply", "multiplication")),
        LayerClassSpec("AddLayer", (), ("x", "y"), ("dx", "dy"), keys=("add", "addition")),
        LayerClassSpec("Relu", (), ("x",), ("dx",), keys=("relu",)),
        LayerClassSpec("Sigmoid", (), ("x",), ("dx",), keys=("sigmoid",)),
        LayerClassSpec("Affine", ("W", "b"), ("x",), ("dx",), params=("dW", "db"),
                       keys=("affine",)),
        LayerClassSpec("SoftmaxWithLoss", (), ("x", "t"), ("dx",), last=True,
                       keys=("softmaxwithloss",)),
    )
}

#: The book's two-layer net (Affine, Relu, Affine, SoftmaxWithLoss) built from the submission's
#: own layer classes by the grader.
LAYER_NET = "TwoLayerNet (layers)"

#: The net's layers in forward order, by the book's names (its OrderedDict keys) -> their class.
#: A blamed call of the net is named "<layer>.<forward|backward>", e.g. "Affine2.backward".
NET_LAYERS: dict[str, str] = {"Affine1": "Affine", "Relu1": "Relu", "Affine2": "Affine",
                              "SoftmaxWithLoss": "SoftmaxWithLoss"}

ITEMS: tuple[Item, ...] = (
    *(Item(name, CATEGORY, (name,)) for name in LAYER_CLASSES),
    Item(LAYER_NET, NET_CATEGORY, ("Affine", "Relu", "SoftmaxWithLoss")),
)


def name_key(name: str) -> str:
    """``SoftMax_WithLossLayer`` -> ``softmaxwithloss``: how spellings are compared."""
    key = name.replace("_", "").lower()
    if key.endswith("layer") and len(key) > len("layer"):
        key = key[: -len("layer")]
    return key
