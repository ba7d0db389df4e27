"""CS231n assignment 1's linear classifier losses: names, modules, conventions.

Each takes the weights ``W`` (D, C), a minibatch ``X`` (N, D), integer labels ``y`` (N,) and
the regularization strength ``reg``, and returns ``(loss, dW)``: the mean data loss over the
batch plus the L2 regularization of ``W``, and its gradient with respect to ``W``.

The regularization term is written by the starter code itself: ``reg * np.sum(W * W)`` from
2017 on, ``0.5 * reg * np.sum(W * W)`` in 2016.  Both are accepted, judged by the term the
loss returned: the gradient must then hold its derivative (``2 * reg * W`` or ``reg * W``).
"""

from __future__ import annotations

from bpverify.contract import Item

__all__ = ["CATEGORY", "CS231N_MODULES", "ITEMS", "NAIVE_OF", "REG_FACTORS", "SOFTMAX", "SVM"]

#: The category of the family's items.
CATEGORY = "cs231n-linear"

SVM = ("svm_loss_naive", "svm_loss_vectorized")
SOFTMAX = ("softmax_loss_naive", "softmax_loss_vectorized")

#: The vectorized version -> the naive version it must agree with (when there is one).
NAIVE_OF = {"svm_loss_vectorized": "svm_loss_naive",
            "softmax_loss_vectorized": "softmax_loss_naive"}

#: The factors f of the regularization term f·reg·ΣW² the starters write: 1 (2017 on) and
#: 0.5 (2016), the first being the one a failure is reported against when neither fits.
REG_FACTORS = (1.0, 0.5)

ITEMS: tuple[Item, ...] = tuple(Item(name, CATEGORY, (name,)) for name in (*SVM, *SOFTMAX))

CS231N_MODULES: dict[str, tuple[str, ...]] = {
    "cs231n.classifiers.linear_svm": SVM,
    "cs231n.classifiers.softmax": SOFTMAX,
}
