"""CS231n's convolutional layers (assignment 2): the naive convolution and max pooling, forward
and backward, and ``ThreeLayerConvNet`` built from them."""

from bpverify.registry import Family

FAMILY = Family(
    name="convolution",
    title="CS231n's convolution and max-pooling layers and the three-layer convnet",
    categories=("cs231n-conv", "cs231n-conv-net"),
)
