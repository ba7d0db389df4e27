"""Load a CS231n assignment folder as it is, with no edits by the instructor (student side).

The folder holds a ``cs231n`` package as the course hands it out, from the 2016 to the 2024
starter code: ``layers.py``, ``layer_utils.py``, ``classifiers/fc_net.py`` (or the older
``classifiers/neural_net.py``) and the files grading does not need (``data_utils.py``,
``solver.py``, ``fast_layers.py``, ``classifiers/__init__.py`` importing every classifier, ...).

Each graded module is imported on its own, so a module that fails to import costs only the
items defined in it and in the modules that import it:

- a module that is not installed where bpverify grades (``matplotlib``, ``imageio``, ``PIL``,
  the Cython ``im2col`` extension, ...) is replaced by a *stand-in*, a placeholder that imports
  fine and fails only when graded code actually uses it; Python 2 helpers (``past.builtins``,
  ``six.moves``, ``future``, ``cPickle``) get working shims; the rubric's ``stand_in`` option
  lists modules to replace even when they are installed;
- a file of the package that is not graded and does not import (a Python 2 ``fast_layers.py``,
  a broken ``k_nearest_neighbor.py`` pulled in by ``classifiers/__init__.py``) is replaced by a
  stand-in too, and a package ``__init__.py`` that does not import is skipped;
- a graded module that does not import costs its own items, with a diagnosis of Python 2 code
  and of numpy APIs that were removed (:func:`legacy_hint`).

Every stand-in is reported in ``LoadedSubmission.notes``.  The contract's names are then
mapped, through small adapters where the assignment's interface differs:

- ``TwoLayerNet`` from ``fc_net.py`` as it is (its constructor matches the contract), else the
  older ``neural_net.TwoLayerNet(input_size, hidden_size, output_size, std)`` whose
  ``loss(X, y, reg)`` takes reg per call;
- ``ThreeLayerNet`` is ``FullyConnectedNet(hidden_dims=[h1, h2], ...)`` in its own dtype.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import inspect
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bpverify import registry
from bpverify.submission.fastlayers import install_fast_layers
from bpverify.submission.legacy import legacy_hint
from bpverify.submission.namespace import LoadedSubmission, describe_exception
from bpverify.submission.standins import StandInModule, StandIns

__all__ = ["GRADED_MODULES", "graded_modules", "legacy_hint", "load_cs231n"]

_LAYER_NAMES = ("affine_forward", "affine_backward", "relu_forward", "relu_backward",
                "softmax_loss", "svm_loss")

#: The modules graded, in import order, and the contract names each may define.
GRADED_MODULES: dict[str, tuple[str, ...]] = {
    "cs231n.layers": _LAYER_NAMES,
    "cs231n.layer_utils": (),
    "cs231n.classifiers.fc_net": ("TwoLayerNet", "ThreeLayerNet"),
    "cs231n.classifiers.neural_net": ("TwoLayerNet",),
}


def _explain(exc: BaseException, file: str) -> str:
    text = describe_exception(exc)
    hint = legacy_hint(text, file)
    return hint or text


# --- loading ----------------------------------------------------------------------------


class _Loader:
    """Imports the graded modules of one folder one by one, standing in for what is missing."""

    def __init__(self, root: Path, sub: LoadedSubmission, forced: Sequence[str]) -> None:
        self.root, self.sub = root, sub
        self.front = StandIns(root, forced, last=False)
        self.back = StandIns(root, (), last=True)
        self.failed: dict[str, str] = {}  # graded module -> why it did not import
        self.replaced: dict[str, types.ModuleType | None] = {}  # sys.modules entries we set

    def rel(self, module: str) -> str:
        return _rel(self.root, module)

    def _module_of(self, file: str) -> str:
        parts = Path(file).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def _where(self, exc: BaseException) -> tuple[str | None, list[str]]:
        """The submission file where ``exc`` happened, and every submission file on the way."""
        files: list[str] = []
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if name.startswith(str(self.root) + "/"):
                files.append(name[len(str(self.root)) + 1:])
            tb = tb.tb_next
        if isinstance(exc, SyntaxError) and exc.filename and \
                exc.filename.startswith(str(self.root) + "/"):
            files.append(exc.filename[len(str(self.root)) + 1:])
        return (files[-1] if files else None), files

    def _set(self, name: str, module: types.ModuleType) -> None:
        if name not in self.replaced:
            self.replaced[name] = sys.modules.get(name)
        sys.modules[name] = module

    def _stand_in(self, name: str, why: str) -> None:
        self._set(name, StandInModule(name, why))

    def _bare_package(self, name: str) -> None:
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(self.root / name.replace(".", "/"))]
        self._set(name, pkg)
        if "." in name:
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, pkg)

    def _recover(self, name: str, exc: BaseException) -> bool:
        """Stand in for what made importing ``name`` fail, if grading does not need it."""
        if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.startswith("cs231n.") \
                and exc.name not in graded_modules():
            self._stand_in(exc.name, f"{exc.name} is not in the folder (it may need building)")
            self.sub.notes.append(f"{exc.name} is not in the folder; a stand-in took its "
                                  "place (grading does not need it)")
            return True
        if (type(exc) is ImportError and exc.name and not exc.name.startswith("cs231n")
                and "cannot import name" in str(exc)):
            self._stand_in(exc.name, f"{exc.name} here lacks what the course's code imports "
                           f"from it ({exc})")
            self.sub.notes.append(f"{exc}: a stand-in took the place of {exc.name} (grading "
                                  "does not need it; code that uses it fails)")
            return True
        file, files = self._where(exc)
        if file is None:
            return False
        module = self._module_of(file)
        why = _explain(exc, Path(file).name)
        if module in graded_modules():
            if module == name or module not in self.failed:
                return False
            # A graded module that failed on its own, imported again through a package
            # __init__.py: skip that __init__.py instead.
            inits = [f for f in files if f.endswith("__init__.py")]
            if not inits:
                return False
            why = f"it imports {self.rel(module)}, which did not import"
            module, file = self._module_of(inits[-1]), inits[-1]
        if module == "cs231n" or file.endswith("__init__.py"):
            self._bare_package(module)
            self.sub.notes.append(f"{file} did not import ({why}); the graded modules were "
                                  "imported without it")
            return True
        self._stand_in(module, f"{file} did not import: {describe_exception(exc)}")
        self.sub.notes.append(f"{file} is not graded and did not import ({why}); a stand-in "
                              "took its place")
        return True

    def load(self, name: str) -> types.ModuleType | None:
        for _ in range(50):
            try:
                with np.errstate(all="ignore"):
                    return importlib.import_module(name)
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)) or not self._recover(name,
                                                                                        exc):
                    self.failed[name] = self._why(name, exc)
                    return None
        self.failed[name] = f"{self.rel(name)} did not import: too many failing imports"
        return None

    def _why(self, name: str, exc: BaseException) -> str:
        file, _ = self._where(exc)
        module = self._module_of(file) if file else name
        if module != name and module in self.failed:
            return f"{self.rel(name)} imports {self.rel(module)}, which did not import: " \
                   f"{self.failed[module].split(': ', 1)[-1]}"
        where = Path(file).name if file else Path(self.rel(name)).name
        return f"{self.rel(name)} did not import: {_explain(exc, where)}"

    def __enter__(self) -> _Loader:
        self.before = set(sys.modules)
        sys.meta_path.insert(0, self.front)
        sys.meta_path.append(self.back)
        sys.path.insert(0, str(self.root))
        return self

    def __exit__(self, *_: Any) -> None:
        sys.path.remove(str(self.root))
        for finder in (self.front, self.back):
            if finder in sys.meta_path:
                sys.meta_path.remove(finder)
        StandIns.forget(self.before)
        for name, old in self.replaced.items():
            if name.startswith("cs231n"):
                continue
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old
        self.sub.notes += self.front.notes("the rubric's stand_in list")
        self.sub.notes += self.back.notes("not installed where bpverify grades")


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


def graded_modules() -> dict[str, tuple[str, ...]]:
    """The modules graded, in import order, with the names each may define: the core's
    (:data:`GRADED_MODULES`), then each family's (``CS231N_MODULES`` in its contract)."""
    merged = dict(GRADED_MODULES)
    for module, names in registry.cs231n_modules().items():
        merged[module] = tuple(dict.fromkeys([*merged.get(module, ()), *names]))
    return merged


def _names(sub: LoadedSubmission, modules: dict[str, types.ModuleType],
           options: dict[str, Any]) -> None:
    for module, names in registry.cs231n_modules().items():
        found = modules.get(module)
        for name in names:
            if found is not None and name not in sub.names and callable(getattr(found, name,
                                                                                 None)):
                sub.names[name] = getattr(found, name)
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


def _rel(root: Path, module: str) -> str:
    """The file of ``module`` (cs231n.layers) relative to the folder ``root``."""
    base = root / module.replace(".", "/")
    return str((base / "__init__.py" if base.is_dir() else base.with_suffix(".py"))
               .relative_to(root))


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
    forced = [str(m) for m in options.get("stand_in", [])]
    modules: dict[str, types.ModuleType] = {}
    graded = graded_modules()
    with _Loader(root, sub, forced) as loader:
        for name in graded:
            if not (root / loader.rel(name)).exists():
                # Another assignment's module: its items are not this folder's to write.
                for contract_name in graded[name]:
                    sub.elsewhere.setdefault(
                        contract_name, f"{loader.rel(name)} is not in this assignment folder")
                continue
            module = loader.load(name)
            if module is not None:
                modules[name] = module
    for name, why in loader.failed.items():
        sub.load_errors.append(why)
        for contract_name in graded[name]:
            sub.unavailable.setdefault(contract_name, why)
    sub.modules = list(modules.values())
    fast = [sys.modules.get("cs231n.fast_layers")]
    changed = install_fast_layers([*sub.modules, *(m for m in fast if m is not None)])
    if changed:
        sub.notes.append(f"{', '.join(changed)}: the course's fast layers (conv_forward_fast, "
                         "max_pool_forward_fast, ... which need the Cython im2col) are numpy "
                         "stand-ins of bpverify's")
    _names(sub, modules, options)
    for finder in registry.cs231n_finders():
        finder([vars(m) for m in sub.modules], sub)
    for name in list(sub.unavailable):
        if name in sub.names:
            del sub.unavailable[name]
    # A name some module present in the folder may define is this folder's to write.
    present = {n for m, names in graded.items() if (root / _rel(root, m)).exists() for n in names}
    for name in list(sub.elsewhere):
        if name in sub.names or name in sub.unavailable or name in present:
            del sub.elsewhere[name]
    _not_in_older_starters(sub)


#: What the 2016-2017 starters do not ask for: layer and group normalization came in 2018.
SINCE_2018 = ("layernorm_forward", "layernorm_backward",
              "spatial_groupnorm_forward", "spatial_groupnorm_backward")


def _not_in_older_starters(sub: LoadedSubmission) -> None:
    """A 2016-2017 assignment 2 (its FullyConnectedNet takes ``use_batchnorm``, which 2018's
    ``normalization=`` replaced along with adding layer norm) has no layer or group norm to
    write: the folder's absent functions of those are not in this assignment, not missing."""
    net = sub.names.get("FullyConnectedNet")
    if net is None:
        return
    try:
        takes = inspect.signature(net).parameters
    except (TypeError, ValueError):
        return
    if "use_batchnorm" not in takes or "normalization" in takes:
        return
    for name in SINCE_2018:
        if name not in sub.names and name not in sub.unavailable:
            sub.elsewhere.setdefault(name, "the 2016-2017 starters have no layer or group "
                                     "normalization: FullyConnectedNet takes use_batchnorm")
