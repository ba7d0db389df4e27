"""Draws that depend on the strategies and the seed alone, not on the modules a process loaded.

Hypothesis (6.131 and later) mixes numbers it finds in the source of every *local* module
loaded in the process (any module outside site-packages) into its draws.  For a grade that
would make the examples depend on which of bpverify's modules a process happened to import (an
editable install: the parent of a ``--jobs`` grade has the doors and outputs loaded, a helper
only the checks of the items it is handed; a family's checks are loaded on first use) and on
the submission's own source when it runs in-process.  Results would then differ between
``--jobs 1`` and ``--jobs 2``, and between two checkouts of the same code.  :func:`strategies_only`
empties that pool while a check runs, and puts it back afterwards, so that a user's own
property tests in the same pytest process keep Hypothesis's behaviour.

It reaches into Hypothesis's internals (``providers._get_local_constants`` and its cache of
permitted constants); on a Hypothesis without them it does nothing (the older behaviour had no
such pool).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["strategies_only"]

_LOCK = threading.Lock()


def _hooks() -> tuple[Any, Any, Any] | None:
    """(the providers module, its pool getter, an empty pool), or None on another Hypothesis."""
    try:
        from hypothesis.internal.conjecture import providers

        hyp: Any = providers
        getter: Any = hyp._get_local_constants
        pool: Any = hyp._local_constants
        sets = {name: type(getattr(pool, name))() for name in ("integers", "bytes", "strings")}
        empty: Any = type(pool)(floats=type(pool.floats)(key=pool.floats.key), **sets)
        hyp.CONSTANTS_CACHE.cache.clear  # noqa: B018 - the attribute used below exists
    except (ImportError, AttributeError, TypeError):
        return None
    return providers, getter, empty


@contextlib.contextmanager
def strategies_only() -> Iterator[None]:
    """While inside, Hypothesis draws no constants from local modules' source."""
    hooks = _hooks()
    if hooks is None:
        yield
        return
    providers, getter, empty = hooks
    with _LOCK:
        providers.CONSTANTS_CACHE.cache.clear()  # entries built with the local pool
        providers._get_local_constants = lambda: empty
        try:
            yield
        finally:
            providers._get_local_constants = getter
            providers.CONSTANTS_CACHE.cache.clear()
