"""Input validation at the public boundary, and reading what f returns.

Everything :func:`~bpverify.gradcheck.check_gradient` is given is checked here, once; the
search trusts its inputs.  Messages say which argument, what was expected and what was got.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpverify.gradcheck.results import GradCheckInputError

KIND_PYFLOAT = 0  # Python int/float: f receives a Python float
KIND_NPSCALAR = 1  # NumPy scalar: f receives a NumPy scalar of the same type
KIND_ARRAY = 2  # ndarray (any shape, 0-d included): f receives an ndarray


def input_error(message: str) -> GradCheckInputError:
    return GradCheckInputError(f"check_gradient: {message}")


def validate_arg(i: int, value: Any) -> tuple[np.ndarray, int]:
    """Return (contiguous native-dtype copy, kind) for args[i]."""
    if value is None:
        raise input_error(f"args[{i}] is None; expected a float array or a Python float.")
    if isinstance(value, (bool, np.bool_)):
        raise input_error(f"args[{i}] is a bool; expected a float array or a Python float.")
    if isinstance(value, numbers.Real) and not isinstance(value, np.generic):
        array, kind = np.array(float(value), dtype=np.float64), KIND_PYFLOAT
    elif isinstance(value, np.generic):
        array, kind = np.array(value), KIND_NPSCALAR
    elif isinstance(value, np.ndarray):
        # No copy: f only ever sees copies, so nothing writes to the caller's
        # array during the check.
        contiguous = value.flags["C_CONTIGUOUS"]
        array, kind = (value if contiguous else np.array(value, order="C")), KIND_ARRAY
    else:
        raise input_error(
            f"args[{i}] has type {type(value).__name__}; expected a NumPy float array, "
            "a NumPy float scalar or a Python float."
        )
    if array.dtype.kind != "f":
        raise input_error(
            f"args[{i}] has dtype {array.dtype}; expected a floating dtype "
            f"(float16/32/64). Convert it, e.g. args[{i}].astype(np.float64)."
        )
    if not all_finite(array):
        raise input_error(f"args[{i}] contains NaN or infinity; expected finite values.")
    return array, kind


def validate_grad(i: int, value: Any, arg: np.ndarray) -> np.ndarray:
    """Return the claimed gradient for args[i] as an array of arg's shape."""
    if value is None:
        raise input_error(
            f"grads[{i}] is None; expected an array of shape {arg.shape} "
            f"(the shape of args[{i}]). A parameter with no gradient needs zeros."
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise input_error(f"grads[{i}] cannot be read as an array ({exc}).") from None
    if array.dtype.kind not in "fiu":
        raise input_error(
            f"grads[{i}] has dtype {array.dtype}; expected a real floating dtype "
            f"and shape {arg.shape}."
        )
    if array.shape != arg.shape:
        raise input_error(
            f"grads[{i}] has shape {array.shape}, expected {arg.shape} (the shape of args[{i}])."
        )
    if not all_finite(array):
        bad = np.argwhere(~np.isfinite(array))
        first = tuple(int(j) for j in bad[0])
        raise input_error(
            f"grads[{i}] contains {len(bad)} NaN/infinite value(s) "
            f"(first at index {first}); expected finite values."
        )
    return array


def all_finite(array: np.ndarray) -> bool:
    # A finite sum proves every element finite without a temporary mask; an
    # overflowing sum of finite values falls back to the elementwise test.
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.sum(array, dtype=np.float64))):
            return True
    return bool(np.isfinite(array).all())


def int_option(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise input_error(f"{name}={value!r}; expected an int >= {minimum}.")
    if value < minimum:
        raise input_error(f"{name}={value}; expected an int >= {minimum}.")
    return int(value)


def scalar_output(out: Any) -> tuple[float, np.dtype]:
    """Convert f's output to (float value, dtype it was computed in)."""
    if isinstance(out, float):
        return out, np.dtype(np.float64)
    if isinstance(out, (bool, np.bool_)):
        raise input_error("f returned a bool; expected a scalar float (the loss).")
    try:
        array = np.asarray(out)
    except (TypeError, ValueError):
        array = np.asarray(None)
    if array.dtype.kind not in "fiu":
        raise input_error(
            f"f returned {type(out).__name__} (dtype {array.dtype}); expected a real "
            "floating scalar (a Python float, a NumPy scalar or a size-1 array)."
        )
    if array.size != 1:
        raise input_error(
            f"f returned an array of shape {array.shape}; expected a scalar "
            "(a Python float, a NumPy scalar or a size-1 array)."
        )
    dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)
    return float(array.reshape(())), dtype


def looks_float32(values: np.ndarray) -> bool:
    """True if float64 values carry float32 precision only.

    A forward (or backward) that computes in float32 and casts its result back
    to float64 has float32 accuracy although its dtype says float64.  Its values
    are exactly representable in float32; a genuine float64 result is so with
    probability about 2^-29.  Values that float16 represents exactly as well
    (0.25, 14.0, sums of small integers) are exact anyway and prove nothing.
    """
    if values.size == 0:
        return False
    as32 = values.astype(np.float32).astype(np.float64)
    as16 = values.astype(np.float16).astype(np.float64)
    return bool(np.array_equal(as32, values)) and not bool(np.array_equal(as16, values))


def eps_of(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).eps)


DTYPE_NAMES = {eps_of(np.dtype(name)): name for name in ("float16", "float32", "float64")}


@dataclass(frozen=True)
class CheckInputs:
    """:func:`~bpverify.gradcheck.check_gradient`'s arguments, validated."""

    natives: list[np.ndarray]  #: the point, one C-contiguous float array per argument
    kinds: list[int]  #: how f receives each argument (KIND_*)
    claimed: list[np.ndarray]  #: the claimed gradients, shaped as the arguments
    seed: int
    directions: int
    elementwise_limit: int
    max_evaluations: int


def check_inputs(
    f: Any,
    args: Any,
    grads: Any,
    *,
    seed: Any,
    directions: Any,
    elementwise_limit: Any,
    max_evaluations: Any,
    precision: Any,
) -> CheckInputs:
    """Validate everything check_gradient was given; :class:`GradCheckInputError` if bad."""
    if not callable(f):
        raise input_error(f"f is {type(f).__name__}; expected a callable f(*args) -> scalar.")
    for name, value in (("args", args), ("grads", grads)):
        if isinstance(value, (np.ndarray, str)) or not isinstance(value, Sequence):
            raise input_error(
                f"{name} is {type(value).__name__}; expected a sequence (list or tuple) with "
                f"one entry per argument of f; wrap a single array as ({name[0]},)."
            )
    if len(grads) != len(args):
        raise input_error(
            f"got {len(grads)} gradient(s) for {len(args)} argument(s); expected one "
            "gradient per argument, in the same order."
        )
    options = (
        int_option("seed", seed, 0),
        int_option("directions", directions, 1),
        int_option("elementwise_limit", elementwise_limit, 0),
        int_option("max_evaluations", max_evaluations, 1),
    )
    if precision is not None and precision not in DTYPE_NAMES.values():
        raise input_error(
            f"precision={precision!r}; expected None, 'float16', 'float32' or 'float64'."
        )
    natives: list[np.ndarray] = []
    kinds: list[int] = []
    for i, value in enumerate(args):
        native, kind = validate_arg(i, value)
        natives.append(native)
        kinds.append(kind)
    claimed = [validate_grad(i, g, natives[i]) for i, g in enumerate(grads)]
    return CheckInputs(natives, kinds, claimed, *options)
