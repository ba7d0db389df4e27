"""MultiplyGate caches its inputs on the class, so two instances share one cache."""

from reference import *  # noqa: F403


class MultiplyGate:
    x = None
    y = None

    def forward(self, x, y):
        MultiplyGate.x = x
        MultiplyGate.y = y
        return x * y

    def backward(self, dz):
        return MultiplyGate.y * dz, MultiplyGate.x * dz


# The neuron circuit runs two multiply gates forward before either runs backward.
EXPECT = {"MultiplyGate": "instances", "circuit sigmoid neuron": "backward"}
ONLY_CHECKS = {"MultiplyGate": ("instances",)}
KINDS = {"MultiplyGate": "shared-state"}
