"""bpverify's reference implementation of every item in the submission contract.

It is graded through exactly the same doors as a student's code: ``bpverify grade reference``.
"""

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
from .recurrent import (
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
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
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "relu_backward",
    "relu_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "softmax_loss",
    "svm_loss",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]
