"""bpverify's reference implementation of every item in the submission contract.

It is graded through exactly the same doors as a student's code: ``bpverify grade reference``.
"""

from .captioning import CaptioningRNN
from .convolution import (
    ThreeLayerConvNet,
    conv_backward_naive,
    conv_forward_naive,
    max_pool_backward_naive,
    max_pool_forward_naive,
)
from .dropout import dropout_backward, dropout_forward
from .fc_net import FullyConnectedNet
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
from .linear_classifiers import (
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
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
from .optim import adam, rmsprop, sgd, sgd_momentum
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
    "CaptioningRNN",
    "ExpGate",
    "FullyConnectedNet",
    "MaxGate",
    "MultiplyGate",
    "ReciprocalGate",
    "ScaleGate",
    "SigmoidGate",
    "SigmoidNeuron",
    "ThreeLayerConvNet",
    "ThreeLayerNet",
    "TwoLayerNet",
    "adam",
    "affine_backward",
    "affine_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "batchnorm_forward",
    "conv_backward_naive",
    "conv_forward_naive",
    "dropout_backward",
    "dropout_forward",
    "layernorm_backward",
    "layernorm_forward",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "max_pool_backward_naive",
    "max_pool_forward_naive",
    "relu_backward",
    "relu_forward",
    "rmsprop",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "sgd",
    "sgd_momentum",
    "softmax_loss",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "spatial_batchnorm_backward",
    "spatial_batchnorm_forward",
    "spatial_groupnorm_backward",
    "spatial_groupnorm_forward",
    "svm_loss",
    "svm_loss_naive",
    "svm_loss_vectorized",
    "temporal_affine_backward",
    "temporal_affine_forward",
    "temporal_softmax_loss",
    "word_embedding_backward",
    "word_embedding_forward",
]
