"""Facts beyond the values: what a layer class's wrong backward reveals when asked again.

The interface reply is asked once per executor; a wrong MulLayer gradient that does not move
when its input does is ``ignores-input``; a wrong Sigmoid that cached only a 0/1 mask is
``caches-mask``.  Each keeps the names involved as facts for the diagnoses.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from bpverify.contract import ContractError, as_gradients
from bpverify.families.layer_classes.contract import LAYER_CLASSES
from bpverify.grading.checks.base import Case, CheckFailed
from bpverify.grading.replay import asked_once
from bpverify.submission import Executor, StudentError

__all__ = ["cached_mask", "ignored_input", "interface_of"]


def interface_of(ex: Executor, name: str) -> dict[str, str]:
    """The submission's answer to "has ``name`` the book's interface?", asked once."""
    return asked_once(ex, ("layer_class_interface", name),
                      lambda: dict(ex.call("layer_class_interface", name=name)))


#: The input each gradient of a class is the upstream gradient times (a multiply switches).
_OTHER_INPUT = {"MulLayer": {"dx": "y", "dy": "x"}}


def ignored_input(ex: Executor, name: str, case: Case, exc: CheckFailed) -> CheckFailed | None:
    """A wrong gradient that stays the same when the input it is made of changes.

    Run backward again with that input moved by 1: a gradient that does not move, where the
    right one would, ignores the input (a constant stands in its place).  The verdict keeps
    the gradient (``value``), the input (``expected_name``) and, when the gradient is dout
    times one number, that number (``got_name``).
    """
    if exc.kind != "wrong-values" or name not in _OTHER_INPUT or not exc.got:
        return None
    spec = LAYER_CLASSES[name]
    for grad in (m.value for m in exc.mismatches):
        source = _OTHER_INPUT[name].get(grad)
        if source is None:
            continue
        moved = {**case, source: np.asarray(case[source], dtype=np.float64) + 1.0}
        try:
            res = ex.call("layer_class", name=name, init=[], inputs=[moved[n] for n in spec.inputs],
                          dout=moved["dout"])
            again = as_gradients(res["grads"], spec.grads, name)[spec.grads.index(grad)]
        except (StudentError, ContractError):
            return None
        before = np.asarray(exc.got[grad], dtype=np.float64)
        after = np.asarray(again, dtype=np.float64)
        if before.shape != after.shape or not np.array_equal(before, after):
            continue
        dout = np.asarray(case["dout"], dtype=np.float64)
        ratio = before / np.where(dout == 0, np.nan, dout)
        same = ratio[np.isfinite(ratio)]
        const = (f"{float(same.flat[0]):g}" if same.size and np.allclose(same, same.flat[0])
                 and same.size == ratio.size else "")
        return exc.amended(kind="ignores-input", message=(
            f"{exc.message}. {grad} stays the same when {source} changes (tried {source} + 1): "
            f"{grad} = dout * {source} uses {const or 'a constant'} in place of {source}"),
            facts=replace(exc.facts, value=grad, got_name=const, expected_name=source))
    return None


def cached_mask(name: str, res: dict[str, Any], exc: CheckFailed) -> CheckFailed | None:
    """A Sigmoid whose wrong backward kept only 0/1 masks from forward, no float output."""
    cached = dict(res.get("cached") or {})
    masks = [k for k, dtype in cached.items() if dtype == "bool"]
    if (name != "Sigmoid" or exc.kind != "wrong-values" or not masks
            or any(dtype.startswith("float") for dtype in cached.values())):
        return None
    return exc.amended(kind="caches-mask", message=(
        f"{exc.message}. After forward the instance keeps only the 0/1 mask self.{masks[0]}, "
        "not the output out = σ(x) that backward needs"),
        facts=replace(exc.facts, got_name=f"self.{masks[0]}", expected_name="out"))
