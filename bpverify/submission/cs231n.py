"""Load a CS231n assignment folder as it is, with no edits by the instructor (student side).

The folder holds a ``cs231n`` package: ``layers.py``, ``layer_utils.py`` and
``classifiers/fc_net.py`` (or the older ``classifiers/neural_net.py``), importing each other
with package-relative and absolute imports.  Compiled helpers that were never built
(``cs231n.fast_layers`` needs a Cython extension) and Python 2 leftovers (``past.builtins``)
are stubbed; the contract's names are then mapped, through small adapters where the assignment's
interface differs:

- ``TwoLayerNet`` from ``fc_net.py`` as it is (its constructor matches the contract), else the
  older ``neural_net.TwoLayerNet(input_size, hidden_size, output_size, std)`` whose
  ``loss(X, y, reg)`` takes reg per call;
- ``ThreeLayerNet`` is ``FullyConnectedNet(hidden_dims=[h1, h2], ...)`` in its own dtype.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

import numpy as np

from bpverify.submission.namespace import LoadedSubmission, describe_exception

__all__ = ["load_cs231n"]

#: Modules a CS231n folder may import but that are often missing or unbuildable.
_STUBBED = ("cs231n.fast_layers", "cs231n.im2col_cython", "cs231n.im2col")
_LAYER_NAMES = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                "softmax_loss", "svm_loss")


def _stub(name: str, why: str) -> types.ModuleType:
    module = types.ModuleType(name, f"bpverify stub: {why}")

    def missing(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)

        def unavailable(*_: Any, **__: Any) -> Any:
            raise NotImplementedError(f"{name}.{attr} is not available ({why})")

        return unavailable

    module.__getattr__ = missing  # type: ignore[method-assign,unused-ignore]
    module.__all__ = []  # type: ignore[attr-defined]
    return module


def _python2_shims() -> None:
    """``from past.builtins import xrange`` and friends, when the future package is absent."""
    try:
        importlib.import_module("past.builtins")
    except ImportError:
        past = types.ModuleType("past")
        builtins = types.ModuleType("past.builtins")
        builtins.xrange = range  # type: ignore[attr-defined]
        builtins.basestring = str  # type: ignore[attr-defined]
        builtins.unicode = str  # type: ignore[attr-defined]
        builtins.long = int  # type: ignore[attr-defined]
        past.builtins = builtins  # type: ignore[attr-defined]
        sys.modules.setdefault("past", past)
        sys.modules.setdefault("past.builtins", builtins)


class OldTwoLayerNetAdapter:
    """Assignment 1's TwoLayerNet(input_size, hidden_size, output_size, std) with loss(X, y, reg).

    Its loss adds ``reg_factor * reg * sum(W**2)`` (1.0 in the 2017+ templates, 0.5 in 2016's),
    so the contract's ``0.5 * reg`` is passed on as ``0.5 * reg / reg_factor``.
    """

    reg_factor = 1.0
    wrapped: Any = None

    def __init__(self, input_dim: int, hidden_dim: int, num_classes: int,
                 weight_scale: float = 1e-3, reg: float = 0.0) -> None:
        self.net = self.wrapped(input_dim, hidden_dim, num_classes, std=weight_scale)
        self.reg = reg

    @property
    def params(self) -> dict[str, Any]:
        return self.net.params  # type: ignore[no-any-return,unused-ignore]

    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> Any:
        return self.net.loss(X, y, reg=0.5 * self.reg / self.reg_factor)


class FullyConnectedAsThreeLayer:
    """FullyConnectedNet(hidden_dims=[h1, h2], ...) graded as the contract's ThreeLayerNet."""

    wrapped: Any = None

    def __init__(self, input_dim: int, hidden_dims: tuple[int, int] = (100, 100),
                 num_classes: int = 10, weight_scale: float = 1e-3, reg: float = 0.0) -> None:
        self.net = self.wrapped(hidden_dims=list(hidden_dims), input_dim=input_dim,
                                num_classes=num_classes, reg=reg, weight_scale=weight_scale)

    @property
    def params(self) -> dict[str, Any]:
        return self.net.params  # type: ignore[no-any-return,unused-ignore]

    def loss(self, X: np.ndarray, y: np.ndarray | None = None) -> Any:
        return self.net.loss(X, y)


def load_cs231n(sub: LoadedSubmission, options: dict[str, Any] | None = None) -> None:
    """Fill ``sub`` (a LoadedSubmission whose path is the assignment folder) in place."""

    options = options or {}
    root = sub.path if (sub.path / "cs231n").is_dir() else None
    if root is None:
        sub.load_errors.append(
            f"{sub.path} has no cs231n/ folder; the cs231n rubric expects an assignment "
            "folder such as assignment2/ containing cs231n/layers.py"
        )
        return
    for name in [m for m in sys.modules if m == "cs231n" or m.startswith("cs231n.")]:
        del sys.modules[name]  # a previous submission's package must not be reused
    sys.path.insert(0, str(root))
    modules: dict[str, types.ModuleType] = {}
    try:
        _python2_shims()
        for stub in _STUBBED:
            try:
                importlib.import_module(stub)
            except BaseException as exc:
                sys.modules[stub] = _stub(stub, f"it did not import: {describe_exception(exc)}")
        for name in ("cs231n.layers", "cs231n.layer_utils", "cs231n.classifiers.fc_net",
                     "cs231n.classifiers.neural_net"):
            file = root / (name.replace(".", "/") + ".py")
            if not file.exists():
                continue
            try:
                modules[name] = importlib.import_module(name)
            except BaseException as exc:
                sub.load_errors.append(f"importing {file.relative_to(root)} failed: "
                                       f"{describe_exception(exc)}")
    finally:
        sys.path.remove(str(root))
    sub.modules = list(modules.values())
    layers = modules.get("cs231n.layers")
    for name in _LAYER_NAMES:
        if layers is not None and callable(getattr(layers, name, None)):
            sub.names[name] = getattr(layers, name)
    fc_net = modules.get("cs231n.classifiers.fc_net")
    old = modules.get("cs231n.classifiers.neural_net")
    if fc_net is not None and hasattr(fc_net, "TwoLayerNet"):
        sub.names["TwoLayerNet"] = fc_net.TwoLayerNet
    elif old is not None and hasattr(old, "TwoLayerNet"):
        sub.names["TwoLayerNet"] = type(
            "TwoLayerNet", (OldTwoLayerNetAdapter,),
            {"wrapped": old.TwoLayerNet,
             "reg_factor": float(options.get("neural_net_reg_factor", 1.0))},
        )
    if fc_net is not None and hasattr(fc_net, "FullyConnectedNet"):
        sub.names["ThreeLayerNet"] = type(
            "ThreeLayerNet", (FullyConnectedAsThreeLayer,), {"wrapped": fc_net.FullyConnectedNet}
        )
