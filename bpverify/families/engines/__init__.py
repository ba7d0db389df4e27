"""Scalar autograd engines in the style of micrograd: a ``Value`` class whose operations build a
graph and whose ``backward()`` fills in every gradient; each operation, and random graphs."""

from bpverify.registry import AutoRubric, Family

FAMILY = Family(
    name="engines",
    title="scalar autograd engines (micrograd style)",
    categories=("engine",),
    rubric="autograd",
    auto=AutoRubric("a scalar autograd engine", ("Value",)),
    noun="engine",
)
