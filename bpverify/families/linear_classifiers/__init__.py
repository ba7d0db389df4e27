"""CS231n assignment 1's linear classifiers: the SVM and softmax losses of a linear score
function, each naive (loops) and vectorized: ``(W, X, y, reg) -> (loss, dW)``."""

from bpverify.registry import Family

FAMILY = Family(
    name="linear_classifiers",
    title="CS231n's linear classifiers: SVM and softmax losses of X·W (assignment 1)",
    categories=("cs231n-linear",),
)
