"""bpverify's reference implementation of every item in the submission contract.

It is graded through exactly the same doors as a student's code: ``bpverify grade reference``.
"""

from .convolution import (
    ThreeLayerConvNet,
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)
from .gates import (
    AddConstGate,
    AddGate,
    ExpGate,
    MaxGate,
    MultiplyGate,
    ReciprocalGate,
    ScaleGate,
    SigmoidGate,
    SigmoidNeuron,
)
from .layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
    svm_loss,
)
from .nets import ThreeLayerNet, TwoLayerNet

__all__ = [
    "AddConstGate",
    "AddGate",
    "ExpGate",
    "MaxGate",
    "MultiplyGate",
    "ReciprocalGate",
    "ScaleGate",
    "SigmoidGate",
    "SigmoidNeuron",
    "ThreeLayerConvNet",
    "ThreeLayerNet",
    "TwoLayerNet",
    "affine_backward",
    "affine_forward",
    "conv_backward_naive",
    "conv_forward_naive",
    "max_pool_backward_naive",
    "max_pool_forward_naive",
    "relu_backward",
    "relu_forward",
    "softmax_loss",
    "svm_loss",
]
