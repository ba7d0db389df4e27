"""Say, in the submission's notes, what ``p`` of dropout was taken to mean, and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bpverify.families.dropout.contract import P_MEANINGS, p_meaning
from bpverify.submission.namespace import LoadedSubmission

__all__ = ["find"]


def find(namespaces: Sequence[Mapping[str, Any]], sub: LoadedSubmission) -> None:
    fn = sub.names.get("dropout_forward")
    if fn is None:
        return
    meaning, source = p_meaning(fn, getattr(sub, "options", {}))
    sub.notes.append(f"dropout: p is judged as {P_MEANINGS[meaning]} (from {source})")
