# ruff: noqa
"""A hostile submission: imports bpverify inside the worker and patches its judges.

All judging happens in the grader's process, so MultiplyGate (wrong) still fails.
"""

import sys

import bpverify
import bpverify.grading.compare as compare
import bpverify.contract as contract

compare.compare_values = lambda name, got, expected, tol: ([], 0)
compare.tolerance_for = lambda dtype: compare.Tolerance(1e300, 1e300, 1e300)
contract.check_numeric = lambda value, where: None
bpverify.__version__ = "forged"
try:  # the grader's judge; heavy (Hypothesis and JAX) and perhaps over the memory limit
    import bpverify.grading.checks.base as checks

    checks.judge = lambda *args, **kwargs: None
    checks.CheckFailed = type("NeverRaised", (Exception,), {})
except BaseException:  # noqa: BLE001
    pass
for name, module in list(sys.modules.items()):
    if name.startswith("bpverify") and hasattr(module, "run_check"):
        module.run_check = lambda *args, **kwargs: None


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
