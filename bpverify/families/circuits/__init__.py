"""The lecture's circuits (``(x+y)*z``, the sigmoid neuron) built from the submission's own
gates, checked gate by gate and at the lecture's worked example."""

from bpverify.registry import Family

FAMILY = Family(name="circuits", title="the lecture's circuits of gates",
                categories=("circuit",), default_contract=True)
