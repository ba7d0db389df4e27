"""Layer classes in the style of "Deep Learning from Scratch": find them, and run them.

The finder (:mod:`bpverify.families.layer_classes.finder`, registered in
:data:`bpverify.submission.loading.FINDERS`) recognises the book's classes under the names
learners give them and explains a class without the book's interface.  The scenarios (added
to :data:`bpverify.submission.scenarios.SCENARIOS`) build a class, call ``forward`` and
``backward`` and return plain data; ``layer_class_interface`` explains a class that does not
have the book's interface (a misspelled method, a method outside its class, another course's
signature) so that the item fails with that explanation, not with a TypeError.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from bpverify.contract import ContractError
from bpverify.families.layer_classes.contract import LAYER_CLASSES, LayerClassSpec
from bpverify.families.layer_classes.finder import (
    Interface,
    binds,
    edit_distance,
    handles,
    interface_of,
    interface_problem,
    typo_of,
)
from bpverify.submission.namespace import (
    LoadedSubmission,
    student_error,
)
from bpverify.submission.scenarios import copied, plain

__all__ = [
    "BATCHABLE",
    "SCENARIOS",
    "Interface",
    "edit_distance",
    "interface_of",
    "interface_problem",
]



# --- calling the student's code --------------------------------------------------------------


def _misread(exc: BaseException, obj: Any) -> tuple[str, str]:
    """(the attribute read, the one the instance has) for ``'Affine' object has no attribute
    'w'`` when the instance has ``W``; else ("", "")."""
    if not isinstance(exc, AttributeError) or obj is None:
        return "", ""
    missing = getattr(exc, "name", None)
    if not isinstance(missing, str):
        return "", ""
    try:
        own = list(vars(obj))
    except TypeError:
        return "", ""
    near = [n for n in own if n != missing and (n.lower() == missing.lower()
                                                  or typo_of(n.lower(), missing.lower()))]
    return (missing, near[0]) if near else ("", "")


def _call(where: str, fn: Callable[..., Any], *args: Any, obj: Any = None) -> Any:
    try:
        return fn(*args)
    except (Exception, SystemExit, KeyboardInterrupt, GeneratorExit) as exc:
        got, has = _misread(exc, obj)
        hint = (f" (the instance has self.{has}: stored as self.{has} but read as "
                f"self.{got}?)") if has else ""
        raise student_error(where, exc, hint=hint, got_name=got, expected_name=has) from None


def _make(sub: LoadedSubmission, name: str, init: Sequence[Any]) -> Any:
    spec = LAYER_CLASSES[name]
    cls = sub.get(name)
    problem = interface_problem(spec, cls)
    if problem:
        raise ContractError(problem)
    return _call(f"{name}({', '.join(spec.init)})", cls, *[copied(v) for v in init])


def _backward(name: str, layer: Any, dout: Any, label: str = "") -> Any:
    where = f"{name}.backward{label}"
    if dout is None:  # the loss layer, at the end of the net: the book's backward(dout=1)
        if binds(layer.backward, 1):
            return _call(where, layer.backward, 1, obj=layer)
        return _call(where, layer.backward, obj=layer)
    return _call(where, layer.backward, dout, obj=layer)


#: Learners' names for a parameter's gradient on the instance (compared in lower case).
_PARAM_SPELLINGS = {"dW": ("dweight", "dweights", "grad_w", "dw_"),
                    "db": ("dbias", "dbiases", "grad_b", "db_")}


def _param_grads(spec: LayerClassSpec, layer: Any) -> dict[str, Any]:
    """The instance's dW and db after backward (self.dw is accepted for self.dW), or, in the
    second volume's style, its ``self.grads = [dW, db]`` in the order of ``self.params``."""
    out: dict[str, Any] = {}
    own = vars(layer) if hasattr(layer, "__dict__") else {}
    listed = own.get("grads")
    if not isinstance(listed, (list, tuple)) or len(listed) != len(spec.params):
        listed = None
    for i, p in enumerate(spec.params):
        value = own.get(p)
        if value is None:
            spelled = {p.lower(), *_PARAM_SPELLINGS.get(p, ())}
            value = next((v for k, v in own.items() if k.lower() in spelled), None)
        if value is None and listed is not None:
            value = listed[i]
        out[p] = plain(value)
    return out


# --- scenarios -------------------------------------------------------------------------------


def layer_class_interface(sub: LoadedSubmission, name: str) -> dict[str, Any]:
    """What is wrong with the class's interface (``problem`` "" when nothing), as facts."""
    return interface_of(LAYER_CLASSES[name], sub.get(name))._asdict()


def layer_class_handles(sub: LoadedSubmission, name: str, form: str) -> bool:
    """Whether the class's code handles ``form`` of input beyond chapter 5's (``FORMS``)."""
    return handles(sub.get(name), form)


def layer_class(sub: LoadedSubmission, name: str, init: list[Any], inputs: list[Any],
                dout: Any) -> dict[str, Any]:
    """One forward and one backward call of a fresh instance (``dout=None``: the book's 1)."""
    spec = LAYER_CLASSES[name]
    layer = _make(sub, name, init)
    ins = [copied(v) for v in inputs]
    out = plain(_call(f"{name}.forward", layer.forward, *ins, obj=layer))
    after_forward = plain(ins)
    cached = _cached(layer)
    d = copied(dout)
    grads = plain(_backward(name, layer, d))
    return {"out": out, "grads": grads, "params": _param_grads(spec, layer),
            "inputs_after_forward": after_forward, "inputs_after": plain(ins),
            "dout_after": plain(d), "cached": cached}


def _cached(layer: Any) -> dict[str, str]:
    """The numbers an instance keeps after forward: attribute name -> dtype ("bool", ...)."""
    try:
        own = dict(vars(layer))
    except TypeError:
        return {}
    out: dict[str, str] = {}
    for k, v in own.items():
        if isinstance(v, (np.ndarray, np.generic)):
            out[k] = str(v.dtype)
        elif isinstance(v, (bool, float)):  # a scalar layer's cache (bool before float)
            out[k] = "bool" if isinstance(v, bool) else "float64"
    return out


def layer_class_forward(sub: LoadedSubmission, name: str, init: list[Any],
                        inputs: list[Any], flag: bool | None = None,
                        seed: int | None = None) -> Any:
    """One forward call of a fresh instance (``flag``: the book's train_flg, passed after the
    inputs; ``seed``: numpy's global generator seeded for the call, as Dropout draws from it)."""
    layer = _make(sub, name, init)
    args = [copied(v) for v in inputs] + ([] if flag is None else [flag])
    with _seeded(seed):
        return plain(_call(f"{name}.forward", layer.forward, *args, obj=layer))


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """numpy's global generator seeded for a call, and put back as it was after it."""
    if seed is None:
        yield
        return
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


#: The running averages a BatchNormalization keeps, under the book's names or a learner's.
_RUNNING = {"running_mean": ("mean",), "running_var": ("var", "std")}


def _running(layer: Any) -> dict[str, Any]:
    """The instance's running averages and momentum (None where it keeps none), and the
    attribute names they were found under (``names``)."""
    try:
        own = dict(vars(layer))
    except TypeError:
        return {}
    out: dict[str, Any] = {}
    names: dict[str, str] = {}
    for key, words in _RUNNING.items():
        found = key if key in own else next(
            (k for k in own if any(w in k.lower() for w in words)
             and any(r in k.lower() for r in ("running", "moving", "run_", "avg", "ema"))),
            None)
        value = own.get(found) if found else None
        out[key] = plain(value) if isinstance(value, (np.ndarray, np.generic, float)) else None
        if found:
            names[key] = found
    momentum = own.get("momentum")
    out["momentum"] = float(momentum) if isinstance(momentum, (int, float)) else None
    out["names"] = names
    return out


def layer_class_run(sub: LoadedSubmission, name: str, init: list[Any],
                    steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A sequence of calls of one instance: ``{"forward": inputs, "flag": train_flg,
    "seed": s}`` or ``{"backward": dout}``; each reply keeps what the call returned, the inputs
    and dout after it, the parameters' gradients and the running averages after it."""
    spec = LAYER_CLASSES[name]
    layer = _make(sub, name, init)
    replies: list[dict[str, Any]] = []
    for k, step in enumerate(steps):
        label = f" (call {k + 1})" if len(steps) > 1 else ""
        if "forward" in step:
            ins = [copied(v) for v in step["forward"]]
            flag = step.get("flag")
            args = ins + ([] if flag is None else [flag])
            with _seeded(step.get("seed")):
                out = plain(_call(f"{name}.forward{label}", layer.forward, *args, obj=layer))
            replies.append({"out": out, "inputs_after": plain(ins), "cached": _cached(layer),
                            "running": _running(layer)})
        else:
            d = copied(step["backward"])
            grads = plain(_backward(name, layer, d, label))
            replies.append({"grads": grads, "params": _param_grads(spec, layer),
                            "dout_after": plain(d), "running": _running(layer)})
    return replies


def layer_class_pair(sub: LoadedSubmission, name: str, init_a: list[Any], init_b: list[Any],
                     inputs_a: list[Any], inputs_b: list[Any], dout_a: Any,
                     dout_b: Any) -> dict[str, Any]:
    """Two instances forwarded before either runs backward, as in any net."""
    spec = LAYER_CLASSES[name]
    a, b = _make(sub, name, init_a), _make(sub, name, init_b)
    _call(f"{name}.forward (first instance)", a.forward, *[copied(v) for v in inputs_a], obj=a)
    _call(f"{name}.forward (second instance)", b.forward, *[copied(v) for v in inputs_b], obj=b)
    grads_a = plain(_backward(name, a, copied(dout_a), " (first instance)"))
    grads_b = plain(_backward(name, b, copied(dout_b), " (second instance)"))
    return {"grads_a": grads_a, "grads_b": grads_b, "params_a": _param_grads(spec, a),
            "params_b": _param_grads(spec, b)}


def _net_layers(sub: LoadedSubmission, params: dict[str, Any]) -> list[tuple[str, Any]]:
    return [("Affine", _make(sub, "Affine", [params["W1"], params["b1"]])),
            ("Relu", _make(sub, "Relu", [])),
            ("Affine", _make(sub, "Affine", [params["W2"], params["b2"]])),
            ("SoftmaxWithLoss", _make(sub, "SoftmaxWithLoss", []))]


def _net_forward(layers: list[tuple[str, Any]], x: Any, t: Any,
                 calls: list[dict[str, Any]] | None) -> Any:
    h = x
    for k, (name, layer) in enumerate(layers):
        args = (h, t) if name == "SoftmaxWithLoss" else (h,)
        label = f"{name} (layer {k + 1})"
        if calls is not None:
            calls.append({"layer": name, "index": k, "step": "forward",
                          "inputs": plain([copied(a) for a in args])})
        h = _call(f"{label}.forward", layer.forward, *args, obj=layer)
        if calls is not None:
            calls[-1]["out"] = plain(h)
    return h


def layer_class_net(sub: LoadedSubmission, params: dict[str, Any], x: Any,
                    t: Any) -> dict[str, Any]:
    """The book's two-layer net built from the submission's classes; every call recorded."""
    layers = _net_layers(sub, params)
    calls: list[dict[str, Any]] = []
    loss = _net_forward(layers, copied(x), copied(t), calls)
    dout: Any = None
    for k in reversed(range(len(layers))):
        name, layer = layers[k]
        record: dict[str, Any] = {"layer": name, "index": k, "step": "backward",
                                  "dout": plain(dout)}
        calls.append(record)
        dout = _backward(name, layer, dout, f" (layer {k + 1})")
        record["dx"] = plain(dout)
        record.update(_param_grads(LAYER_CLASSES[name], layer))
    affine = [p for n, p in layers if n == "Affine"]
    grads = {}
    for i, layer in enumerate(affine, start=1):
        g = _param_grads(LAYER_CLASSES["Affine"], layer)
        grads[f"W{i}"], grads[f"b{i}"] = g["dW"], g["db"]
    return {"loss": plain(loss), "grads": grads, "calls": calls}


def layer_class_net_loss(sub: LoadedSubmission, params: dict[str, Any], x: Any, t: Any) -> Any:
    return plain(_net_forward(_net_layers(sub, params), copied(x), copied(t), None))


SCENARIOS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (layer_class_interface, layer_class_handles, layer_class, layer_class_forward,
              layer_class_pair, layer_class_net, layer_class_net_loss, layer_class_run)
}

#: Forward-only scenarios: a numerical check may send many in one request.
BATCHABLE = ("layer_class_forward",)
