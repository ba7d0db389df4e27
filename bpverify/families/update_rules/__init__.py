"""CS231n's update rules (assignment 2, cs231n/optim.py): ``sgd``, ``sgd_momentum``,
``rmsprop`` and ``adam``, each ``(w, dw, config=None) -> (next_w, config)``."""

from bpverify.registry import Family

FAMILY = Family(
    name="update_rules",
    title="CS231n's update rules: SGD, momentum, RMSProp and Adam (assignment 2)",
    categories=("cs231n-optim",),
)
