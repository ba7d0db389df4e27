"""The layer classes of "Deep Learning from Scratch" (Saito, O'Reilly): names and interfaces.

Each class is built with its parameters (``Affine(W, b)``) or with nothing, runs
``forward(...)`` and ``backward(dout)``; parameters' gradients stay on the instance
(``affine.dW``, ``affine.db``), and ``SoftmaxWithLoss.backward(dout=1)`` is called at the end of
the net.  Chapters 6 and 7 add :data:`CHAPTER7`: ``Dropout(dropout_ratio)`` and
``BatchNormalization(gamma, beta)`` (whose forward takes ``train_flg``, True while training),
``Convolution(W, b, stride, pad)`` and ``Pooling(pool_h, pool_w, stride, pad)`` (max pooling),
on 4-D input ``(N, C, H, W)``.  Learners spell the names in many ways (``Mullayer``, ``ReLU``,
``SoftMaxWithLoss``): each spec's ``keys`` lists the spellings recognised besides its name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpverify.contract import Item

__all__ = [
    "CHAPTER7",
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
    #: forward takes the book's ``train_flg`` after its inputs (True: training, the default).
    flag: bool = False
    #: The book's constructor, when it has defaults: "stride=1, pad=0".
    book_init: str = ""

    def forward_signature(self) -> str:
        return f"forward(self, {', '.join(self.inputs)}{', train_flg=True' if self.flag else ''})"

    def backward_signature(self) -> str:
        return "backward(self, dout=1)" if self.last else "backward(self, dout)"

    def init_signature(self) -> str:
        return f"__init__(self, {self.book_init})" if self.book_init else (
            f"__init__(self{''.join(', ' + a for a in self.init)})")


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
        # Chapters 6 and 7.
        LayerClassSpec("Dropout", ("dropout_ratio",), ("x",), ("dx",), flag=True,
                       book_init="dropout_ratio=0.5", keys=("dropout",)),
        LayerClassSpec("BatchNormalization", ("gamma", "beta"), ("x",), ("dx",),
                       params=("dgamma", "dbeta"), flag=True,
                       book_init="gamma, beta, momentum=0.9, running_mean=None, "
                                 "running_var=None",
                       keys=("batchnormalization", "batchnorm", "batchnormalize", "bn",
                             "batchnormalisation")),
        LayerClassSpec("Convolution", ("W", "b", "stride", "pad"), ("x",), ("dx",),
                       params=("dW", "db"), book_init="W, b, stride=1, pad=0",
                       keys=("convolution", "conv", "conv2d", "convolutional", "convolution2d")),
        # Pooling is given no pad: the book's own forward ignores it in its output's shape.
        LayerClassSpec("Pooling", ("pool_h", "pool_w", "stride"), ("x",), ("dx",),
                       book_init="pool_h, pool_w, stride=1, pad=0",
                       keys=("pooling", "pool", "maxpooling", "maxpool", "maxpool2d",
                             "maxpooling2d")),
    )
}

#: The classes of chapters 6 and 7, optional in the layer-classes rubric (a chapter-5 file is
#: not marked down for them: see rubric.toml).
CHAPTER7: tuple[str, ...] = ("Dropout", "BatchNormalization", "Convolution", "Pooling")

#: The book's two-layer net (Affine, Relu, Affine, SoftmaxWithLoss) built from the submission's
#: own layer classes by the grader.
LAYER_NET = "TwoLayerNet (layers)"

#: The net's layers in forward order, by the book's names (its OrderedDict keys) -> their class.
#: A blamed call of the net is named "<layer>.<forward|backward>", e.g. "Affine2.backward".
NET_LAYERS: dict[str, str] = {"Affine1": "Affine", "Relu1": "Relu", "Affine2": "Affine",
                              "SoftmaxWithLoss": "SoftmaxWithLoss"}

ITEMS: tuple[Item, ...] = (
    *(Item(name, CATEGORY, (name,)) for name in LAYER_CLASSES if name not in CHAPTER7),
    Item(LAYER_NET, NET_CATEGORY, ("Affine", "Relu", "SoftmaxWithLoss")),
    *(Item(name, CATEGORY, (name,)) for name in CHAPTER7),
)


def name_key(name: str) -> str:
    """``SoftMax_WithLossLayer`` -> ``softmaxwithloss``: how spellings are compared."""
    key = name.replace("_", "").lower()
    if key.endswith("layer") and len(key) > len("layer"):
        key = key[: -len("layer")]
    return key
