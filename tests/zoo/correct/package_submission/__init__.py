"""A package folder: __init__ gathers the names from sibling modules with relative imports."""

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
from .layers import affine_backward, affine_forward, relu_backward, relu_forward
from .losses import softmax_loss, svm_loss
from .nets import ThreeLayerNet, TwoLayerNet
