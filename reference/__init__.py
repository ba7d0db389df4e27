"""bpverify's reference implementation of every item in the submission contract.

It is graded through exactly the same doors as a student's code: ``bpverify grade reference``.
"""

from .dropout import dropout_backward, dropout_forward
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
from .normalization import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)

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
    "ThreeLayerNet",
    "TwoLayerNet",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "layernorm_backward",
    "layernorm_forward",
    "relu_backward",
    "relu_forward",
    "softmax_loss",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "spatial_groupnorm_backward",
    "spatial_groupnorm_forward",
    "svm_loss",
]
