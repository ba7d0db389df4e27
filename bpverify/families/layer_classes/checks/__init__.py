"""Layer classes of "Deep Learning from Scratch", and the book's two-layer net built from them.

The book's conventions are judged as the book means them: ``Affine(W, b)`` flattens N-D input
and returns ``dx`` in the input's shape, keeping ``dW`` and ``db`` on the instance;
``SoftmaxWithLoss`` takes one-hot (or integer) labels, averages over the batch and is judged at
``dout = 1``; its ``cross_entropy_error`` may add 1e-7 inside the log, which is accepted (and
allowed for in the numerical check).  Every check first asks whether the class has the book's
interface, so that a misspelled method or another course's signature fails one check
("interface") with an explanation instead of every check with a TypeError.

Failures carry what they established as facts for the diagnoses (feedback/layer_classes.py):
the interface check's kind says what differs (``misspelled-method``, ``nested-method``,
``method-outside-class``, ``missing-method``, ``interface``) with the names found and expected;
a call that raised keeps the names involved (``self.w`` read where ``self.W`` was stored, an
undefined ``np``); a wrong MulLayer gradient that does not move when its input does is
``ignores-input``; a wrong Sigmoid that cached only a 0/1 mask is ``caches-mask``; and a failure
of the net names the guilty call ("Affine2.backward") and the value it got wrong.

One module per concept: :mod:`.classes` (one class of chapter 5), :mod:`.net` (the net from
the classes), :mod:`.book` (the book's softmax-with-loss, with its 1e-7), :mod:`.facts` (what
a wrong backward reveals when asked again), and for chapters 6 and 7 :mod:`.chapter7` (what
their checks share), :mod:`.dropout`, :mod:`.batchnorm` and :mod:`.convpool`.
"""

from __future__ import annotations

from bpverify.contract import Item
from bpverify.families.layer_classes.checks.batchnorm import batchnorm_checks
from bpverify.families.layer_classes.checks.book import BOOK_DELTA
from bpverify.families.layer_classes.checks.classes import layer_class_checks
from bpverify.families.layer_classes.checks.convpool import CONVOLUTION, pooling_checks
from bpverify.families.layer_classes.checks.dropout import dropout_checks
from bpverify.families.layer_classes.checks.net import layer_net_checks
from bpverify.families.layer_classes.contract import NET_CATEGORY
from bpverify.grading.checks.base import Check
from bpverify.submission import Executor

__all__ = ["BOOK_DELTA", "checks_for", "layer_class_checks", "layer_net_checks"]


def checks_for(item: Item) -> list[Check]:
    """The checks of a layer class, or of the book's net built from the student's classes."""
    if item.category == NET_CATEGORY:
        return layer_net_checks(item.name)
    if item.name == "Dropout":
        return dropout_checks()
    if item.name == "BatchNormalization":
        return batchnorm_checks(_handles_4d)
    if item.name == "Convolution":
        return CONVOLUTION.checks()
    if item.name == "Pooling":
        return pooling_checks()
    return layer_class_checks(item.name)


def _handles_4d(ex: Executor) -> bool:
    return bool(ex.call("layer_class_handles", name="BatchNormalization", form="4-d input"))
