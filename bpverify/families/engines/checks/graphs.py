"""The graph items: random programs of the operations the engine gets right alone.

Trees (``Value graph``), graphs whose values fan out along paths of different lengths (``Value
fan-out``) and a 200-node chain (``Value deep chain``).  A failing program is shrunk and printed
as code a student can paste; its nodes are replayed one by one to name the first node, going
backward, whose local rule is wrong, or else the engine's fault.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

from hypothesis import strategies as st

from bpverify.families.engines.checks.blame import PRESET, blame, hidden_overwrite
from bpverify.families.engines.checks.judging import (
    compare,
    compare_numerical,
    engine_dtype,
    near,
    nudged,
    precision,
    reject_detached,
    steps_of,
)
from bpverify.families.engines.checks.ops import sound_ops
from bpverify.families.engines.checks.oracle import program_oracle
from bpverify.families.engines.checks.programs import (
    LEAF,
    NICE,
    STEP_DRAW,
    Program,
    realize_chain,
    realize_fanout,
    realize_tree,
)
from bpverify.families.engines.contract import EngineOp
from bpverify.grading.checks.base import Case, Check, CheckFailed
from bpverify.model import Facts
from bpverify.submission import Executor

__all__ = ["CHAIN_LENGTH", "graph_checks"]


_GRAPHS: dict[str, st.SearchStrategy[Case]] = {
    "Value graph": st.fixed_dictionaries({
        "leaves": st.lists(LEAF, min_size=1, max_size=4),
        "steps": st.lists(STEP_DRAW, min_size=1, max_size=8)}),
    "Value fan-out": st.fixed_dictionaries({
        "leaves": st.lists(LEAF, min_size=1, max_size=3),
        "steps": st.lists(STEP_DRAW, min_size=2, max_size=9)}),
    # A few chains, each cycling through every operation the engine has: the item's point is
    # depth, not variety, so Hypothesis runs each shape once and stops.
    "Value deep chain": st.fixed_dictionaries({"chain": st.integers(0, 3)}),
}
CHAIN_LENGTH = 200


@functools.lru_cache(maxsize=32)
def _chain(ops: tuple[EngineOp, ...], k: int) -> Program:
    """Chain shape ``k`` (the same for the item's three checks, realized once)."""
    picks = [(k * 13 + 29 * i) % 64 for i in range(3)]
    return realize_chain(ops, NICE[k % len(NICE)], NICE[(k + 3) % len(NICE)], picks,
                         CHAIN_LENGTH)


def _realize(name: str, ops: Sequence[EngineOp], case: Case) -> Program:
    if name == "Value graph":
        return realize_tree(ops, case["leaves"], case["steps"])
    if name == "Value fan-out":
        return realize_fanout(ops, case["leaves"], case["steps"])
    return _chain(tuple(ops), int(case["chain"]))


def graph_checks(name: str) -> list[Check]:
    def judge(check: str) -> Callable[[Executor, Case], bool]:
        def run(ex: Executor, case: Case) -> bool:
            with precision(engine_dtype(ex)):
                return judged(ex, case)

        def judged(ex: Executor, case: Case) -> bool:
            ops = sound_ops(ex)
            if not ops:
                return False
            p = _realize(name, ops, case)
            if not p.nodes:
                return False
            # The report shows the program, not the draw it came from.
            case.clear()
            case["code"] = p.code()
            if check == "numerical":
                return _graph_numerical(ex, p)
            value, leaf_grads, adjoints = program_oracle(p, grads=check == "backward")
            reply = ex.call("engine_program", program=p.plain(),
                            upstreams=[a if a else 1.0 for a in adjoints] or None,
                            preset=PRESET, backward=check == "backward")
            reject_detached(reply, p)
            if check == "forward":
                got = (reply.get("values") or [None])[-1]
                compare(name, [p.names[-1]], [got], [value], "the oracle's value", p)
                return True
            names = [f"{p.names[k]}.grad" for k in range(len(p.leaves))]
            got_grads = list((reply.get("grads") or [None] * len(names))[: len(names)])
            if all(near(g, e) for g, e in zip(got_grads, leaf_grads)):
                hidden = hidden_overwrite(p, reply) if name == "Value fan-out" else None
                if hidden is not None:
                    raise CheckFailed(hidden.kind, f"{name}: {hidden.text}\n{p.code()}",
                                      facts=Facts(where=name, value="overwrite"),
                                      trace=hidden.trace)
                return True
            found = blame(p, reply)
            compare(name, names, got_grads, leaf_grads, "jax.grad of the same program", p,
                     kind=found.kind, trace=found.trace, blame=found.text)
            return True

        return run

    cases = _GRAPHS[name]
    return [
        Check("forward", cases, judge("forward"), "the output's value matches the oracle"),
        Check("backward", cases, judge("backward"), "every leaf's gradient after backward() "
              "matches jax.grad of the same program"),
        Check("numerical", cases, judge("numerical"), "every leaf's gradient matches centred "
              "differences of your own forward"),
    ]



def _graph_numerical(ex: Executor, p: Program) -> bool:
    reply = ex.call("engine_program", program=p.plain(), upstreams=None, preset=PRESET,
                    backward=True, leaf_sets=nudged(p.leaves))
    reject_detached(reply, p)
    names = [f"{p.names[k]}.grad" for k in range(len(p.leaves))]
    got = list((reply.get("grads") or [None] * len(names))[: len(names)])
    h = steps_of(p.leaves)
    outs = reply.get("forwards") or []
    if len(outs) != 2 * len(p.leaves) or any(not isinstance(o, float) for o in outs):
        return False
    numeric = [(outs[2 * k] - outs[2 * k + 1]) / (2 * h[k]) for k in range(len(p.leaves))]
    # a step that crosses a kink (relu near 0) is no evidence: skip such examples
    if any(o is None or not math.isfinite(o) for o in outs):
        return False
    compare_numerical(f"{p.names[-1]}.backward()", names, got, numeric, p)
    return True
