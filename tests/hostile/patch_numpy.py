# ruff: noqa
"""A hostile submission: patches numpy's comparison functions, then gets MultiplyGate wrong.

Every comparison happens in the grader's process, so the patches change nothing there.
"""

import numpy as np


def _always(*args, **kwargs):
    return True


np.allclose = _always
np.array_equal = _always
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz


class MultiplyGate:
    """Wrong: adds instead of multiplying."""

    def forward(self, x, y):
        return x + y

    def backward(self, dz):
        return dz, dz
