"""The wire codec: plain data as bytes, and back, for the worker's pipes.

A body is a JSON tree (tagged: ``{"t": [...]}`` a tuple, ``{"d": {...}}`` a dict, ``{"a": n}``
an array and ``{"g": n}`` a numpy scalar stored as blob ``n``, ``{"o": [type, text]}`` an
:class:`~bpverify.contract.Opaque`) followed by the arrays it refers to, each written by
``np.save`` and read back with ``allow_pickle=False``.  Every part is prefixed by its length
(:data:`LENGTH`, 4 bytes little-endian).  :func:`decode` accepts nothing else: whatever the
worker sends, the grader gets plain data or a :class:`ProtocolError`.

Requests go the other way, from the grader to the worker, which trusts its grader: they are
pickled (:func:`encode_request`, :func:`decode_request`), several times faster on both sides
for the small calls a grade makes thousands of.  Nothing the worker sends is ever unpickled.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import re
import struct
import sys
from typing import Any

import numpy as np

from bpverify.contract import Opaque

__all__ = ["LENGTH", "MAX_TEXT", "SEQ", "ProtocolError", "decode", "decode_request", "encode",
           "encode_request"]

#: The length prefix of a frame and of each part of a body.
LENGTH = struct.Struct("<I")
#: A request's sequence number, which the worker sends back with its reply (first in a frame,
#: after the length: bodies do not depend on it).
SEQ = struct.Struct("<I")
#: Strings coming back from the worker are cut to this length.
MAX_TEXT = 4000
_MAX_DEPTH = 32
#: Identifier-like strings up to this length are interned, as CPython interns such literals.
_INTERNED = 64
_LEN = LENGTH
_U16 = struct.Struct("<H")
_ARRAY_KINDS = "biuf"
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


class ProtocolError(Exception):
    """A frame that does not decode to the plain data the protocol allows."""


def encode(value: Any) -> bytes:
    """Plain data as bytes: a JSON tree followed by the arrays it refers to (``np.save``).

    Allowed: None, bool, int, float, str, list, tuple, dict with str keys, numpy arrays and
    scalars of bool/int/float dtypes (dtype kept), and :class:`Opaque`.
    """
    blobs: list[bytes] = []
    head = json.dumps(_tree(value, blobs, 0), separators=(",", ":"), allow_nan=True).encode()
    parts = [_LEN.pack(len(head)), head]
    for blob in blobs:
        parts += [_LEN.pack(len(blob)), blob]
    return b"".join(parts)


def encode_request(value: Any) -> bytes:
    """A request (plain data, as :func:`encode` allows) as bytes for the worker: pickled.
    Anything else raises :class:`ProtocolError` here, not an import error in the worker."""
    buf = io.BytesIO()
    _RequestPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buf.getvalue()


class _RequestPickler(pickle.Pickler):
    """Pickles plain data only: numpy's arrays and scalars (of the kinds :func:`encode`
    allows, with what numpy pickles them by) and :class:`Opaque` besides the builtin types.
    Identifier-like strings go as persistent ids, which the worker interns as it loads them
    (as CPython interns such literals: a submission may compare them with ``is``)."""

    def persistent_id(self, obj: Any) -> Any:  # called for every object: keep it short
        if type(obj) is str and len(obj) <= _INTERNED and obj.isidentifier():
            return obj
        return None

    def reducer_override(self, obj: Any) -> Any:  # not called for builtin containers, str...
        if isinstance(obj, (np.ndarray, np.generic)):
            if obj.dtype.kind not in _ARRAY_KINDS or obj.dtype.names is not None:
                raise ProtocolError(f"an array of dtype {obj.dtype}; expected bool, int or "
                                    "float")
        elif not (isinstance(obj, Opaque) or obj is Opaque
                  or str(getattr(obj, "__module__", "")).split(".")[0] == "numpy"
                  or type(obj).__module__.split(".")[0] == "numpy"):
            raise ProtocolError(f"a {type(obj).__name__}; only plain data crosses between "
                                "processes")
        return NotImplemented


class _RequestUnpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        if type(pid) is not str:
            raise pickle.UnpicklingError(f"a persistent id {pid!r}")
        return sys.intern(pid)


def decode_request(data: bytes) -> Any:
    """The inverse of :func:`encode_request`, in the worker: only ever given the grader's
    bytes.  Identifier-like strings are interned, as :func:`decode` interns them."""
    return _RequestUnpickler(io.BytesIO(data)).load()


def _tree(v: Any, blobs: list[bytes], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ProtocolError(f"data nested more than {_MAX_DEPTH} levels deep")
    t = type(v)
    if t is float or t is str or t is bool or v is None:  # the common leaves first
        return v
    if t is np.ndarray and v.dtype.kind in _ARRAY_KINDS and v.dtype.names is None:
        blobs.append(_saved(v))
        return {"a": len(blobs) - 1}
    if isinstance(v, (bool, str)):
        return v
    if isinstance(v, (np.ndarray, np.generic)):
        arr = np.asarray(v)
        if arr.dtype.kind not in _ARRAY_KINDS or arr.dtype.names is not None:
            raise ProtocolError(f"an array of dtype {arr.dtype}; expected bool, int or float")
        blobs.append(_saved(arr))
        return {"g" if isinstance(v, np.generic) else "a": len(blobs) - 1}
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, tuple):
        return {"t": [_tree(x, blobs, depth + 1) for x in v]}
    if isinstance(v, list):
        return [_tree(x, blobs, depth + 1) for x in v]
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise ProtocolError("a dict with non-str keys; expected str keys")
        return {"d": {k: _tree(x, blobs, depth + 1) for k, x in v.items()}}
    if isinstance(v, Opaque):
        return {"o": [v.type_name, v.text]}
    raise ProtocolError(f"a {type(v).__name__}; only plain data crosses between processes")


def decode(data: bytes | memoryview) -> Any:
    """The inverse of :func:`encode`; raises :class:`ProtocolError` on anything else."""
    view = memoryview(data)
    try:
        (n,) = _LEN.unpack_from(view, 0)
        head = json.loads(bytes(view[4 : 4 + n]))
        blobs, pos = [], 4 + n
        while pos < len(view):
            (m,) = _LEN.unpack_from(view, pos)
            if pos + 4 + m > len(view):
                raise ProtocolError("an array runs past the end of the frame")
            blobs.append(view[pos + 4 : pos + 4 + m])
            pos += 4 + m
        return _untree(head, blobs, 0)
    except ProtocolError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, RecursionError, struct.error) as exc:
        raise ProtocolError(f"malformed frame: {type(exc).__name__}: {str(exc)[:200]}") from None


def _untree(t: Any, blobs: list[memoryview], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ProtocolError(f"data nested more than {_MAX_DEPTH} levels deep")
    if t is None or isinstance(t, (bool, int, float)):
        return t
    if isinstance(t, str):
        t = t if len(t) <= MAX_TEXT else t[: MAX_TEXT - 15] + " … [truncated]"
        t = _UNPRINTABLE.sub("?", t)  # no terminal escapes, no lone surrogates
        # Interned like the literal it stands for ('rnn', 'train'): course code that compares
        # with `is` (cell_type is 'rnn') behaves as it does when the notebook passes a literal.
        return sys.intern(t) if len(t) <= _INTERNED and t.isidentifier() else t
    if isinstance(t, list):
        return [_untree(x, blobs, depth + 1) for x in t]
    if isinstance(t, dict) and len(t) == 1:
        ((tag, body),) = t.items()
        if tag in ("a", "g") and type(body) is int:
            arr = _load(blobs[body])
            return arr[()] if tag == "g" else arr
        if tag == "t" and isinstance(body, list):
            return tuple(_untree(x, blobs, depth + 1) for x in body)
        if tag == "d" and isinstance(body, dict):
            return {k: _untree(x, blobs, depth + 1) for k, x in body.items()}
        if tag == "o" and isinstance(body, list) and len(body) == 2:
            name, text = (_untree(x, blobs, depth + 1) for x in body)
            if isinstance(name, str) and isinstance(text, str):
                return Opaque(name, text)
    raise ProtocolError(f"unexpected element {str(t)[:80]!r}")


#: (dtype, shape, Fortran order) -> the .npy header np.save wrote for such an array.
_SAVED: dict[tuple[str, tuple[int, ...], bool], bytes] = {}


def _saved(arr: np.ndarray) -> bytes:
    """``np.save(arr)``'s bytes, faster for a dtype and shape seen before.

    np.save formats each header anew (about 50 us, most of encoding a small array); the same
    few shapes cross thousands of times, so the header is kept and the data appended to it.
    """
    # np.save keeps Fortran order (and writes anything else in C order): so does this.
    fortran = arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous
    key = (arr.dtype.str, arr.shape, fortran)
    head = _SAVED.get(key)
    if head is not None:
        return head + arr.tobytes(order="F" if fortran else "C")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    data = buf.getvalue()
    if len(_SAVED) < 4096:
        _SAVED[key] = data[: len(data) - arr.nbytes]
    return data


#: .npy header -> (dtype, shape, fortran_order, data offset), for headers np.load accepted.
_HEADERS: dict[bytes, tuple[np.dtype[Any], tuple[int, ...], bool, int]] = {}


def _load(blob: memoryview) -> np.ndarray:
    """``np.load(blob, allow_pickle=False)``, faster for a header seen before.

    np.load parses each header with ``ast.literal_eval`` (about 25 us, most of a round trip);
    the engine sends the same few shapes thousands of times, so a header np.load has accepted
    once is remembered and its data read with ``np.frombuffer``, which cannot unpickle.
    """
    major = blob[6] if len(blob) >= 12 else 0
    size = (10 + _U16.unpack_from(blob, 8)[0] if major == 1
            else 12 + _LEN.unpack_from(blob, 8)[0] if major else 0)
    key = bytes(blob[:size])
    known = _HEADERS.get(key)
    if known is None:
        arr = np.load(io.BytesIO(blob), allow_pickle=False)
        if arr.dtype.kind not in _ARRAY_KINDS or arr.dtype.names is not None:
            raise ProtocolError(f"an array of dtype {arr.dtype}; expected bool, int or float")
        if size and len(_HEADERS) < 4096:
            fortran = arr.ndim > 1 and arr.flags.f_contiguous and not arr.flags.c_contiguous
            _HEADERS[key] = (arr.dtype, arr.shape, fortran, size)
        return arr
    dtype, shape, fortran, offset = known
    count = math.prod(shape)
    if len(blob) - offset != count * dtype.itemsize:
        raise ProtocolError(f"an array of shape {shape} with {len(blob) - offset} data bytes")
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")
