"""Expected values computed once per example for a whole batch.

A batch judges every submission on the same replayed examples (:mod:`bpverify.grading.replay`),
so the oracle is asked the same questions again and again.  :func:`remembered` wraps an oracle
so that, while :func:`remember` is on in this process, its result for a given set of arguments
is kept (by their exact bytes: dtype, shape and data of every array, the bits of every float)
and handed out as a copy the next time.  Oracles are pure functions of their arguments, so a
kept value is the value it would compute.  Off by default: a single grade never asks twice,
and the kept values would only cost memory.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

__all__ = ["LIMIT", "not_kept", "remember", "remembered", "stats"]

#: The most results kept in a process (a few KB each; the default rubric's replayed examples
#: need about 8,000); past it, results are computed as without the memo.
LIMIT = 20_000

_F = TypeVar("_F", bound=Callable[..., Any])
_KEPT: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()
_STATE = {"on": False, "hits": 0, "misses": 0}
_LOCAL = threading.local()  #: .off: this thread keeps nothing new (see not_kept)


class _Unkeyable(Exception):
    """An argument that cannot be fingerprinted: the call is not remembered."""


def remember(on: bool = True) -> None:
    """Keep oracles' results (``on``) or stop and forget them, for this process."""
    with _LOCK:
        _STATE["on"] = on
        if not on:
            _KEPT.clear()


@contextlib.contextmanager
def not_kept() -> Iterator[None]:
    """While inside, this thread's new results are not kept (kept ones are still used): for a
    Hypothesis run that shrinks one submission's failure, whose examples no other submission
    will be asked about."""
    before = getattr(_LOCAL, "off", False)
    _LOCAL.off = True
    try:
        yield
    finally:
        _LOCAL.off = before


def stats() -> dict[str, int]:
    """Calls answered from the memo and calls computed, since this process started."""
    return {"hits": int(_STATE["hits"]), "misses": int(_STATE["misses"]), "kept": len(_KEPT)}


def remembered(fn: _F) -> _F:
    """``fn``, whose results are kept while :func:`remember` is on."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not _STATE["on"]:
            return fn(*args, **kwargs)
        try:
            key = (fn.__qualname__, _key(args), _key(kwargs))
        except _Unkeyable:
            return fn(*args, **kwargs)
        with _LOCK:
            kept = _KEPT.get(key, _KEPT)
        if kept is not _KEPT:
            _STATE["hits"] += 1
            return copy.deepcopy(kept)  # a judge may change what it was given
        out = fn(*args, **kwargs)
        _STATE["misses"] += 1
        if getattr(_LOCAL, "off", False):
            return out
        with _LOCK:
            if len(_KEPT) < LIMIT:
                _KEPT[key] = copy.deepcopy(out)
        return out

    return run  # type: ignore[return-value]


def _key(v: Any) -> Any:
    """Exact fingerprint of an argument: two arguments with the same one are the same bits."""
    if isinstance(v, np.ndarray):
        if v.dtype.hasobject:
            raise _Unkeyable
        return ("a", v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, float):  # bits: -0.0 and 0.0 are different inputs
        return ("f", v.hex())
    if isinstance(v, np.generic):
        if v.dtype.hasobject:
            raise _Unkeyable
        return ("g", v.dtype.str, v.tobytes())
    if isinstance(v, (bool, int, str, type(None))):
        return (type(v).__name__, v)
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, *(_key(x) for x in v))
    if isinstance(v, dict):
        return ("d", *((_key(k), _key(x)) for k, x in v.items()))
    if dataclasses.is_dataclass(v) and not isinstance(v, type):  # a record (a circuit's node)
        return ("r", type(v).__qualname__,
                *(_key(getattr(v, f.name)) for f in dataclasses.fields(v)))
    raise _Unkeyable
