"""An operation's item (``Value *``, ``Value tanh``, ...), and the survey of sound operations.

An operation is built alone and its closure replayed with an upstream gradient that is not 1
(as if it fed a product), against ``jax.vjp`` in float64 and against centred differences of the
engine's own forward.  The survey judges every operation the engine has at a few points, once
per executor: the graph items are built only from operations that are right on their own, and
a failing operation says which wrong operations it is built on (``a - b`` as ``a + (-b)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from bpverify.families.engines.checks.blame import program_trace
from bpverify.families.engines.checks.extremes import EXTREME_OPS, extreme_check
from bpverify.families.engines.checks.judging import (
    compare,
    compare_numerical,
    engine_dtype,
    near,
    nudged,
    num,
    precision,
    reject_detached,
    steps_of,
)
from bpverify.families.engines.checks.oracle import local_grads, program_oracle
from bpverify.families.engines.checks.programs import (
    BASES,
    LEAF,
    NICE,
    POWERS,
    Program,
    add_node,
    fmt_const,
    local_value,
    program_on,
)
from bpverify.families.engines.contract import ENGINE_OPS, EngineOp
from bpverify.grading.checks.base import Case, Check, CheckFailed
from bpverify.grading.replay import asked_once
from bpverify.submission import Executor, StudentError

__all__ = ["Survey", "built_on", "op_checks", "sound_ops", "survey"]


@dataclass(frozen=True)
class Survey:
    """What the engine has: the operations it gets right alone, and which of its methods each
    operation's build ran (``Value -``: ``__sub__``, ``__neg__``, ``__mul__``, ``__add__``)."""

    sound: tuple[EngineOp, ...]
    has: tuple[str, ...]  #: the operations' items the class defines
    calls: dict[str, tuple[str, ...]]


#: The item of each method an operation is defined by (``__neg__`` -> ``Value neg``).
_METHOD_ITEM = {op.attrs[0]: name for name, op in ENGINE_OPS.items()}


def survey(ex: Executor) -> Survey:
    """Each operation the engine has, checked once at a few points (cached per executor)."""
    def ask() -> Survey:
        names = ex.call("inventory")["names"]
        with precision(engine_dtype(ex)):
            return _survey(ex, names)

    return asked_once(ex, "engine_survey", ask)


def _survey(ex: Executor, names: Collection[str]) -> Survey:
    ops: list[EngineOp] = []
    calls: dict[str, tuple[str, ...]] = {}
    for name, op in ENGINE_OPS.items():
        if name not in names:
            continue
        ok = True
        for a in ((1.75, -0.75), (-1.25, 2.5)):
            seen: dict[str, tuple[str, ...]] = {}
            try:
                _judge_op(ex, op, _op_case(op, a[0], a[1], 2.5 if op.op != "**" else 2, 1.75),
                          seen=seen)
            except (CheckFailed, StudentError, Exception):
                ok = False
            calls.setdefault(name, seen.get(name, ()))
            if not ok:
                break
        if ok:
            ops.append(op)
    return Survey(tuple(ops), tuple(n for n in ENGINE_OPS if n in names), calls)


def sound_ops(ex: Executor) -> list[EngineOp]:
    """The operations the engine has and gets right alone.

    A wrong operation fails its own item; graphs built without it judge the engine itself.
    """
    return list(survey(ex).sound)


def built_on(ex: Executor, item: str, calls: Sequence[str]) -> tuple[str, ...]:
    """The operations ``item``'s build ran that fail on their own, the root first.

    The root is one built on none of the others (``Value -`` built as a + (-b), with -b as
    b * -1 and a wrong ``*``: the root is ``Value *``, then ``Value neg``).
    """
    s = survey(ex)
    right = {op.name for op in s.sound}
    wrong = [i for i in dict.fromkeys(_METHOD_ITEM.get(m, "") for m in calls)
             if i and i != item and i in s.has and i not in right]

    def leans(d: str) -> bool:
        return any(_METHOD_ITEM.get(m) in wrong and _METHOD_ITEM.get(m) != d
                   for m in s.calls.get(d, ()))

    return tuple(sorted(wrong, key=leans))


def _explained(ex: Executor, op: EngineOp, failed: CheckFailed, calls: Sequence[str]
               ) -> CheckFailed:
    """``failed`` with the operations it is built on that fail alone, if any."""
    deps = built_on(ex, op.name, calls)
    r = failed.result
    if not deps:
        return failed
    root, via = deps[0], deps[1:]
    uses = ", ".join(m for m in calls if _METHOD_ITEM.get(m) in deps)
    first, _, rest = r.message.partition("\n")
    sentence = (f" {op.name} is built on {root}" + (f" (through {', '.join(via)})" if via else "")
                + f": building it ran {uses}, and {root} is wrong on its own (see its item): "
                f"fix {root} first.")
    return CheckFailed.of(replace(r, message=first + sentence + (f"\n{rest}" if rest else ""),
                                  facts=replace(r.facts, built_on=deps)))


# --- an operation's item -----------------------------------------------------------------------


def _op_case(op: EngineOp, a: float, b: float, c: Any, up: float, form: str = "") -> Case:
    form = form or op.forms[0]
    if op.op == "log" or (op.op == "**" and float(c) != int(c)):
        a = abs(a) + 0.25
    if op.op == "/" and form == "vv":
        b = b if abs(b) >= 0.25 else 0.5
    if op.op == "/" and form == "cv":
        a = a if abs(a) >= 0.25 else 0.5
    if op.op == "exp":
        a = max(min(a, 3.0), -3.0)
    return {"form": form, "a": a, "b": b, "c": c, "upstream": up}


def _op_program(op: EngineOp, case: Case) -> Program:
    form = case["form"]
    p = program_on([case["a"], case["b"]] if form == "vv" else [case["a"]])
    slots = [0, 1] if form == "vv" else [0]
    if not add_node(p, op, form, slots, case["c"]):
        raise ValueError("unsafe")
    return p


def _judge_op(ex: Executor, op: EngineOp, case: Case, check: str = "backward",
              seen: dict[str, tuple[str, ...]] | None = None) -> bool:
    """Judge ``op`` on ``case``; ``seen`` (the survey's) gets the methods its build ran, and
    without it a failure says which wrong operations it is built on."""
    try:
        p = _op_program(op, case)
    except ValueError:
        return False
    up = float(case["upstream"])
    sets = nudged(p.leaves) if check == "numerical" else None
    reply = ex.call("engine_program", program=p.plain(), upstreams=[up], preset=0.0,
                    backward=check != "forward", force_upstream=True, leaf_sets=sets,
                    calls=True)
    calls = tuple(str(m) for m in ((reply.get("calls") or [[]])[0] or ()))
    if seen is not None:
        seen[op.name] = calls
        return _judge_reply(ex, op, p, reply, up, check)
    # The report shows the example as the lines a student runs, not the draw it came from.
    out = p.names[-1]
    if check == "forward":
        p.run = [f"{out}.data"]
    elif reply.get("replay"):  # judged as replayed: the closure alone, with this upstream
        p.run = [f"{out}.grad = {up!r}", f"{out}._backward()"]
    case.clear()
    case["code"] = p.code()
    try:
        return _judge_reply(ex, op, p, reply, up, check)
    except CheckFailed as failed:
        raise _explained(ex, op, failed, calls) from None


def _judge_reply(ex: Executor, op: EngineOp, p: Program, reply: dict[str, Any], up: float,
                 check: str) -> bool:
    reject_detached(reply, p)
    where = p.nodes[0]["code"]
    value, _, _ = program_oracle(p, grads=False)
    got_value = (reply.get("values") or [None])[-1]
    if check == "forward":
        try:
            compare(where, [p.names[-1]], [got_value], [value], "the oracle's value", p)
        except CheckFailed as failed:
            raise _swapped(failed, p, got_value) from None
        return True
    names = [f"{p.names[s]}.grad" for s in range(len(p.leaves))]
    xs = [p.values[i] if kind == "v" else i for kind, i in p.nodes[0]["args"]]
    loc = local_grads(op.op, xs)
    expected = [loc[k] * up for k, (kind, _) in enumerate(p.nodes[0]["args"]) if kind == "v"]
    replay = reply.get("replay")
    if replay:
        got = list(replay[0]["after"])
        what = f"local gradient × upstream {num(up)}"
        label = f"{where} with {p.names[-1]}.grad = {num(up)}, then {p.names[-1]}._backward()"
    else:  # no closure to replay: the whole backward(), seeded with 1
        got = list((reply.get("grads") or [])[: len(p.leaves)])
        expected = [loc[k] for k, (kind, _) in enumerate(p.nodes[0]["args"]) if kind == "v"]
        what, label = "the local gradient", f"{where}; {p.names[-1]}.backward()"
    if check == "numerical":
        h = steps_of(p.leaves)
        outs = reply.get("forwards") or []
        if len(outs) != 2 * len(p.leaves) or any(not isinstance(o, float) for o in outs):
            return False
        scale = up if replay else 1.0
        numeric = [(outs[2 * k] - outs[2 * k + 1]) / (2 * h[k]) * scale
                   for k in range(len(p.leaves))]
        compare_numerical(label, names, got, numeric, p)
        return True
    trace, _ = program_trace(p, reply, preset=0.0) if replay else ([], [])
    compare(label, names, got, expected, what, p, trace=trace)
    return True


def _swapped(failed: CheckFailed, p: Program, got: Any) -> CheckFailed:
    """A reflected operation (``2.0 - a``) that computed its operands swapped (``a - 2.0``):
    said in the facts' name relation (the code computed got_name where expected_name belongs).
    """
    node = p.nodes[0]
    if node["form"] != "cv" or node["op"] not in ("-", "/", "rpow"):
        return failed
    (_, c), (_, i) = node["args"]
    # Swapped, ``2.0 ** a`` computes ``a ** 2.0``: the same operation with its operands turned.
    plain = "**" if node["op"] == "rpow" else node["op"]
    try:
        swapped = local_value(plain, [p.values[i], c]) if c else math.nan
    except (ValueError, ZeroDivisionError, OverflowError):
        return failed
    value = local_value(node["op"], [c, p.values[i]])
    if not near(got, swapped) or near(swapped, value):
        return failed
    r = failed.result
    return CheckFailed.of(replace(r, facts=replace(
        r.facts, got_name=f"{p.names[i]} {plain} {fmt_const(c)}", expected_name=node["code"])))




def _op_cases(op: EngineOp) -> st.SearchStrategy[Case]:
    ups = st.integers(-24, 24).filter(lambda k: abs(k) not in (0, 8)).map(lambda k: k / 8)
    consts = st.sampled_from(BASES if op.op == "rpow" else POWERS if op.op == "**" else NICE)
    return st.builds(lambda f, a, b, c, u: _op_case(op, a, b, c, u, f),
                     st.sampled_from(op.forms), LEAF, LEAF, consts, ups)


def op_checks(name: str) -> list[Check]:
    op = ENGINE_OPS[name]
    cases = _op_cases(op)

    def run(check: str) -> Callable[[Executor, Case], bool]:
        def judge(ex: Executor, case: Case) -> bool:
            with precision(engine_dtype(ex)):
                return _judge_op(ex, op, case, check)

        return judge

    extremes = [extreme_check(op)] if op.op in EXTREME_OPS else []
    return [
        Check("forward", cases, run("forward"), f"{op.code.format(a='a', b='b')} computes the "
              "right value and returns a Value"),
        Check("backward", cases, run("backward"), "its _backward passes back local gradient × "
              "an upstream gradient that is not 1"),
        Check("numerical", cases, run("numerical"), "its gradients match centred differences "
              "of your own forward"),
        *extremes,
    ]
