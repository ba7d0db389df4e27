"""CS231n's inverted dropout (assignment 2): ``dropout_forward`` and ``dropout_backward``."""

from bpverify.registry import Family

FAMILY = Family(
    name="dropout",
    title="CS231n's inverted dropout layer",
    categories=("cs231n-dropout",),
)
