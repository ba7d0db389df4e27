"""CS231n assignment 3's recurrent layers: names, signatures and the shapes they return.

Every layer is a pair of functions in ``cs231n/rnn_layers.py`` (2016 to 2024 starters, all
with the same signatures): ``<base>_forward(*inputs)`` returns its outputs and a cache, and
``<base>_backward(*upstream, cache)`` returns one gradient per differentiable input.  The
shapes use the course's letters: N sequences of T steps, inputs of size D, a hidden state of
size H (the LSTM's weights have 4H columns, its gates in the order i, f, o, g), a vocabulary
of V words and M outputs per step.  ``temporal_softmax_loss(x, y, mask)`` is one function.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpverify.contract import Item

__all__ = ["CAPTIONING", "CAPTIONING_CATEGORY", "CAPTIONING_PARAMS", "CATEGORY",
           "CS231N_MODULES", "ITEMS", "LOSS", "LOSS_CATEGORY", "SPECS", "TRACED", "WORDS",
           "RecurrentSpec"]

#: The categories of the family's items: a forward/backward pair, and the loss.
CATEGORY = "cs231n-rnn"
LOSS_CATEGORY = "cs231n-rnn-loss"

#: The one loss of the family.
LOSS = "temporal_softmax_loss"

#: The image captioning net of ``cs231n/classifiers/rnn.py``, built as
#: ``CaptioningRNN(word_to_idx, input_dim, wordvec_dim, hidden_dim, cell_type, dtype)``;
#: ``loss(features, captions)`` returns ``(loss, grads)`` with one gradient per parameter.
CAPTIONING = "CaptioningRNN"
CAPTIONING_CATEGORY = "cs231n-captioning"

#: Its parameters, as the starter names them: the projection of the image features to the
#: first hidden state, the word vectors, the recurrence, and the hidden-to-vocabulary layer.
CAPTIONING_PARAMS = ("W_proj", "b_proj", "W_embed", "Wx", "Wh", "b", "W_vocab", "b_vocab")

#: The vocabulary's special words, at the indices every case uses: <NULL> pads a caption
#: (the mask is captions_out != <NULL>), <START> begins one, <END> ends one.
WORDS = ("<NULL>", "<START>", "<END>")

#: The layer functions a CaptioningRNN's loss is replayed with, traced (layer-by-layer blame).
TRACED = ("affine_forward", "affine_backward", "word_embedding_forward",
          "word_embedding_backward", "rnn_forward", "rnn_backward", "lstm_forward",
          "lstm_backward", "temporal_affine_forward", "temporal_affine_backward",
          "temporal_softmax_loss")


@dataclass(frozen=True)
class RecurrentSpec:
    """One layer of rnn_layers.py: what its forward takes and gives, and its backward."""

    base: str  #: "rnn_step": the functions are rnn_step_forward and rnn_step_backward
    inputs: tuple[str, ...]  #: forward's arguments, in order
    outputs: tuple[str, ...]  #: forward's values before the cache
    upstream: tuple[str, ...]  #: backward's arguments before the cache
    grads: tuple[str, ...]  #: what backward returns, in order
    #: The inputs the gradients are of, in the order of ``grads`` (word indices get none).
    wrt: tuple[str, ...]

    @property
    def forward(self) -> str:
        return f"{self.base}_forward"

    @property
    def backward(self) -> str:
        return f"{self.base}_backward"

    def forward_call(self) -> str:
        return f"{self.forward}({', '.join(self.inputs)})"

    def backward_call(self) -> str:
        return f"{self.backward}({', '.join(self.upstream)}, cache)"


SPECS: dict[str, RecurrentSpec] = {
    s.base: s
    for s in (
        RecurrentSpec("rnn_step", ("x", "prev_h", "Wx", "Wh", "b"), ("next_h",), ("dnext_h",),
                      ("dx", "dprev_h", "dWx", "dWh", "db"), ("x", "prev_h", "Wx", "Wh", "b")),
        RecurrentSpec("rnn", ("x", "h0", "Wx", "Wh", "b"), ("h",), ("dh",),
                      ("dx", "dh0", "dWx", "dWh", "db"), ("x", "h0", "Wx", "Wh", "b")),
        RecurrentSpec("word_embedding", ("x", "W"), ("out",), ("dout",), ("dW",), ("W",)),
        RecurrentSpec("lstm_step", ("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
                      ("next_h", "next_c"), ("dnext_h", "dnext_c"),
                      ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
                      ("x", "prev_h", "prev_c", "Wx", "Wh", "b")),
        RecurrentSpec("lstm", ("x", "h0", "Wx", "Wh", "b"), ("h",), ("dh",),
                      ("dx", "dh0", "dWx", "dWh", "db"), ("x", "h0", "Wx", "Wh", "b")),
        RecurrentSpec("temporal_affine", ("x", "w", "b"), ("out",), ("dout",),
                      ("dx", "dw", "db"), ("x", "w", "b")),
    )
}

ITEMS: tuple[Item, ...] = (
    *(item for s in SPECS.values() for item in (
        Item(s.forward, CATEGORY, (s.forward,)),
        Item(s.backward, CATEGORY, (s.forward, s.backward)),
    )),
    Item(LOSS, LOSS_CATEGORY, (LOSS,)),
    Item(CAPTIONING, CAPTIONING_CATEGORY, (CAPTIONING,)),
)

#: The module of an assignment 3 folder that defines them (``--rubric cs231n``).
CS231N_MODULES: dict[str, tuple[str, ...]] = {
    "cs231n.rnn_layers": (*(n for s in SPECS.values() for n in (s.forward, s.backward)),
                          LOSS),
    "cs231n.classifiers.rnn": (CAPTIONING,),
}
