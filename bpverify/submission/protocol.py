"""The boundary's types: what the grader may ask of wherever a submission runs.

An :class:`Executor` runs named *scenarios* against a submission (in this process or in an
isolated worker) and returns plain data, typed per scenario in
:mod:`bpverify.submission.replies`.  Nothing here imports the submission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, overload, runtime_checkable

from bpverify.submission.replies import (
    CircuitReply,
    GatePairReply,
    GateReply,
    InventoryReply,
    LayerReply,
    LossReply,
    ManyReply,
    NetReply,
    NetTracedReply,
    TrainReply,
)

__all__ = ["Executor", "Rerunnable", "StudentError", "Tape", "reply_digest"]


class StudentError(Exception):
    """The submission's code raised (or exited) while the grader was calling it."""

    def __init__(self, where: str, exc_type: str, message: str, tb: str = "", *,
                 got_name: str = "", expected_name: str = "") -> None:
        super().__init__(f"{where} raised {exc_type}: {message}")
        self.where, self.exc_type, self.message, self.tb = where, exc_type, message, tb
        #: The names involved, taken from the exception object where it was caught: the
        #: undefined name of a NameError ("np"), or the attribute read (self.w) and the one the
        #: instance has (self.W).  The grader keeps them as facts.
        self.got_name, self.expected_name = got_name, expected_name

    @property
    def array_truth_value(self) -> bool:
        """numpy refused to turn a whole array into one bool (Python's max, an if on arrays).

        Read from numpy's own wording, here at the boundary, once: the grader keeps it as a
        fact (:class:`bpverify.model.Facts`) and never reads the message again.
        """
        return self.exc_type == "ValueError" and "truth value of an array" in self.message

    @property
    def array_to_scalar(self) -> bool:
        """numpy refused int() or float() of a one-element array (numpy 2; 1.25 warned)."""
        return self.exc_type == "TypeError" and "0-dimensional arrays can be converted" in (
            self.message)


class Executor(Protocol):
    """Where scenarios run: in-process here, in an isolated worker for untrusted code.

    The engine calls, per submission: ``call("inventory")`` once, then for each item
    :meth:`begin_item` and the item's scenarios, and finally :meth:`close`.  A scenario that
    runs the submission's code raises :class:`StudentError` when that code raises (and
    :class:`~bpverify.contract.ContractError` when it returns something of the wrong form).
    """

    #: What confines the submission, for the run's header and the result model, e.g.
    #: "landlock abi 7 + pid namespace + no network" or "in-process (no isolation)".
    sandbox: str

    @overload
    def call(self, scenario: Literal["inventory"], **kwargs: Any) -> InventoryReply: ...
    @overload
    def call(self, scenario: Literal["gate"], **kwargs: Any) -> GateReply: ...
    @overload
    def call(self, scenario: Literal["gate_pair"], **kwargs: Any) -> GatePairReply: ...
    @overload
    def call(self, scenario: Literal["layer"], **kwargs: Any) -> LayerReply: ...
    @overload
    def call(self, scenario: Literal["loss"], **kwargs: Any) -> LossReply: ...
    @overload
    def call(self, scenario: Literal["net"], **kwargs: Any) -> NetReply: ...
    @overload
    def call(self, scenario: Literal["net_traced"], **kwargs: Any) -> NetTracedReply: ...
    @overload
    def call(self, scenario: Literal["train_spiral"], **kwargs: Any) -> TrainReply: ...
    @overload
    def call(self, scenario: Literal["circuit"], **kwargs: Any) -> CircuitReply: ...
    @overload
    def call(self, scenario: Literal["many"], **kwargs: Any) -> ManyReply: ...
    @overload
    def call(self, scenario: str, **kwargs: Any) -> Any: ...
    def call(self, scenario: str, **kwargs: Any) -> Any:
        """Run the scenario called ``scenario`` (a key of ``SCENARIOS``) with ``kwargs``."""

    def begin_item(self, name: str) -> None:
        """A new contract item starts (an isolated executor gives each its own time budget)."""

    def close(self) -> None:
        """Release what runs the submission; the executor is not used afterwards."""


def reply_digest(reply: bytes) -> bytes:
    """What a tape keeps of a reply: a 128-bit BLAKE2b digest of its bytes (two replies with
    the same digest are the same bytes; a tape keeps a fraction of the memory)."""
    return hashlib.blake2b(reply, digest_size=16).digest()


@dataclass
class Tape:
    """The calls an executor made inside :meth:`Rerunnable.taping`: each request's bytes and
    its reply's digest (:func:`reply_digest`), in order.  ``spoilt`` when one of them did not
    come back (a timeout, a crash) or a worker started meanwhile: such calls cannot be asked
    again as they were."""

    calls: list[tuple[bytes, bytes]] = field(default_factory=list)
    spoilt: bool = False


@runtime_checkable
class Rerunnable(Protocol):
    """An executor whose calls can be recorded and asked again (the isolated worker): a batch
    asks a later submission the calls an earlier one's grade made, and where every reply is
    the same bytes, the earlier judgement stands (bpverify.grading.replay)."""

    def taping(self) -> AbstractContextManager[Tape]:
        """Record the calls made inside the block."""

    def rerun(self, calls: Sequence[tuple[bytes, bytes]]) -> bool:
        """Ask ``calls`` again while each reply is the recorded bytes: True when all were.
        False when one was not: the next calls are then answered from those asked, then
        :meth:`settle`."""

    def settle(self) -> int:
        """Forget what :meth:`rerun` kept: how many of its calls were not made again."""
