"""CS231n's normalization layers (assignment 2): batch, layer, spatial batch and spatial group
normalization, forward and backward, in the course's function style."""

from bpverify.registry import Family

FAMILY = Family(
    name="normalization",
    title="CS231n's batch, layer and group normalization layers",
    categories=("cs231n-norm-forward", "cs231n-norm-backward", "cs231n-norm-net"),
)
