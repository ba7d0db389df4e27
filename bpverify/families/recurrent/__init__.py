"""CS231n assignment 3's recurrent layers (``cs231n/rnn_layers.py``): the vanilla RNN and the
LSTM, one step and a whole sequence, word embeddings, the temporal affine layer and the
temporal softmax loss; and the image captioning net built on them (``CaptioningRNN``)."""

from bpverify.registry import Family

FAMILY = Family(
    name="recurrent",
    title="CS231n's recurrent layers (rnn_layers.py: RNN, LSTM, word embeddings)",
    categories=("cs231n-rnn", "cs231n-rnn-loss", "cs231n-captioning"),
)
