"""The methods an engine adds beyond the usual operations (``softplus()``, ``linear(w, b)``, ...).

No oracle knows what such a method should compute, so its gradient is judged against the
engine's own forward: each Value argument's gradient after the method's closure runs with an
upstream gradient that is not 1 must be that upstream times the centred difference of the
method's ``.data``.  And where its input fans out (the input already holds what another use
passed back), the closure must add its share, not overwrite it: the lecture's "if a value is
used in several places, the backward flows add".  Examples where the forward is not smooth (a
kink: the one-sided differences disagree), not deterministic, raises or is not finite are no
evidence and are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from bpverify.families.engines.checks.blame import PRESET
from bpverify.families.engines.checks.judging import (
    compare_numerical,
    engine_dtype,
    near,
    nudged,
    num,
    precision,
    reject_detached,
    steps_of,
)
from bpverify.families.engines.checks.programs import LEAF, Program, fmt_const, program_on
from bpverify.families.engines.contract import METHODS_ITEM
from bpverify.grading.checks.base import Case, Check, CheckFailed
from bpverify.grading.replay import asked_once
from bpverify.model import ElementMismatch, Facts
from bpverify.submission import Executor, StudentError

__all__ = ["method_checks", "methods_of"]

#: Numbers a method is called with where it takes one (a slope, a power, a bound, ...).
NUMBERS = (0.5, 1.5, 2.0, -0.5, 3.0, 0.25)


def methods_of(ex: Executor) -> list[dict[str, Any]]:
    """The methods the finder found (``{"name": "softplus", "args": ""}``), once per executor."""
    return asked_once(ex, "engine_methods", lambda: list(ex.call("engine_methods")))


def _program(method: dict[str, Any], case: Case) -> Program:
    """``b = a.softplus()`` (or ``d = a.linear(b, 1.5)``): the method on drawn values."""
    kinds = str(method["args"])
    values = [case["a"], *(case["values"][k] for k, kind in enumerate(kinds) if kind == "v")]
    p = program_on(values)
    args: list[list[Any]] = [["v", 0]]
    shown: list[str] = []
    slot = 1
    for k, kind in enumerate(kinds):
        if kind == "v":
            args.append(["v", slot])
            shown.append(p.names[slot])
            slot += 1
        else:
            c = NUMBERS[(case["number"] + k) % len(NUMBERS)]
            args.append(["c", c])
            shown.append(fmt_const(c))
    code = f"{p.names[0]}.{method['name']}({', '.join(shown)})"
    p.nodes.append({"op": f".{method['name']}", "args": args, "code": code,
                    "item": METHODS_ITEM, "form": "m"})
    p.names.append("abcdefghijklmnopqrstuvwxyz"[len(values)] if len(values) < 26 else "out")
    p.values.append(math.nan)
    return p


def _differences(ex: Executor, p: Program) -> list[float] | None:
    """Centred differences of the method's forward per Value argument, or None when the
    example is no evidence (raises, not finite, not deterministic, or a kink there)."""
    leaves = list(p.leaves)
    try:
        outs = ex.call("engine_forward", program=p.plain(), leaf_sets=[leaves, leaves,
                                                                       *nudged(leaves)])
    except StudentError:  # outside the method's domain (a log of a negative number, ...)
        return None
    if any(not isinstance(o, float) or not math.isfinite(o) for o in outs) or outs[0] != outs[1]:
        return None
    f0, moved = outs[0], outs[2:]
    diffs = []
    for k, h in enumerate(steps_of(leaves)):
        up, down = moved[2 * k], moved[2 * k + 1]
        centred, right, left = (up - down) / (2 * h), (up - f0) / h, (f0 - down) / h
        if abs(right - left) > 1e-3 * max(1.0, abs(centred)) * (100 if h > 1e-3 else 1):
            return None  # a kink (relu-like, max, abs) between the nudged points
        diffs.append(centred)
    return diffs


def _judge(ex: Executor, case: Case, check: str) -> bool:
    """Every method on this example's values (a failure shows the method that failed)."""
    methods = methods_of(ex)
    judged = False
    shown = dict(case)
    for k in range(len(methods)):
        method = methods[(shown["pick"] + k) % len(methods)]
        judged = _judge_method(ex, method, dict(shown), case, check) or judged
    return judged


def _judge_method(ex: Executor, method: dict[str, Any], draw: Case, case: Case, check: str
                  ) -> bool:
    """Judge one method on the values drawn (``draw``); ``case`` shows the code judged."""
    p = _program(method, draw)
    numeric = _differences(ex, p)
    if numeric is None:
        return False
    up = float(draw["upstream"])
    preset = PRESET if check == "fan-out" else 0.0
    reply = ex.call("engine_program", program=p.plain(), upstreams=[up], preset=preset,
                    force_upstream=True)
    reject_detached(reply, p)
    out = p.names[-1]
    names = [f"{p.names[k]}.grad" for k in range(len(p.leaves))]
    replay = reply.get("replay")
    if not replay:  # no closure to replay: the whole backward(), seeded with 1
        if check == "fan-out":
            return False
        got = list((reply.get("grads") or [None] * len(names))[: len(names)])
        p.run = [f"{out}.backward()"]
        case.clear()
        case["code"] = p.code()
        compare_numerical(f"{p.nodes[0]['code']}; {out}.backward()", names, got, numeric, p)
        return True
    after = list(replay[0]["after"])
    shares = [up * d for d in numeric]
    if check == "numerical":
        p.run = [f"{out}.grad = {up!r}", f"{out}._backward()"]
        case.clear()
        case["code"] = p.code()
        label = f"{p.nodes[0]['code']} with {out}.grad = {num(up)}, then {out}._backward()"
        try:
            compare_numerical(label, names, after, shares, p)
        except CheckFailed as failed:
            bad = [(g, s) for g, s in zip(after, shares) if not near(g, s)]
            if near(up, 1.0) or not all(isinstance(g, (int, float)) and near(float(g) * up, s)
                                        for g, s in bad):
                raise
            raise failed.amended(message=failed.message.replace(
                ".\n", f": it passes back the local gradient alone, without multiplying by "
                f"the upstream gradient {num(up)} (the chain rule).\n", 1), facts=replace(
                    failed.facts, where=p.nodes[0]["code"], got_name="local gradient",
                    expected_name="local gradient × upstream")) from None
        return True
    return _judge_fan_out(p, case, after, shares, preset, up)


def _judge_fan_out(p: Program, case: Case, after: Sequence[Any], shares: Sequence[float],
                   preset: float, up: float) -> bool:
    """The input already holds ``preset`` (another use's share): the closure must add to it."""
    got = [float(g) if isinstance(g, (int, float)) else math.nan for g in after]
    if all(near(g, preset + s) for g, s in zip(got, shares)):
        return True
    overwrote = [k for k, (g, s) in enumerate(zip(got, shares))
                 if near(g, s) and not near(g, preset + s)]
    if not overwrote:
        return False  # its own rule is wrong: the numerical check says so
    out = p.names[-1]
    k = overwrote[0]
    name = p.names[k]
    p.run = [f"{name}.grad = {preset!r}", f"{out}.grad = {up!r}", f"{out}._backward()"]
    comment = (f"{name}.grad: expected {num(preset)} + {num(shares[k])} = "
               f"{num(preset + shares[k])}, got {num(got[k])}")
    case.clear()
    case["code"] = p.code()
    method = p.nodes[0]["code"]
    wrong = [f"{p.names[j]}.grad" for j in overwrote]
    raise CheckFailed(
        "engine-overwrite",
        f"{method}: {', '.join(wrong)} already held {num(preset)} (what another use of "
        f"{name} passed back: {name} fans out), and {out}._backward() with {out}.grad = "
        f"{num(up)} replaced it instead of adding its share; {comment}. If a value is used in "
        f"several places the backward flows add: use += in its _backward.\n{p.code(comment)}",
        expected={f"{p.names[j]}.grad": preset + shares[j] for j in range(len(shares))},
        got={f"{p.names[j]}.grad": got[j] for j in range(len(got))},
        mismatches=[ElementMismatch(value=f"{p.names[j]}.grad", index=(),
                                    expected=preset + shares[j], got=got[j],
                                    abs_error=abs(got[j] - preset - shares[j]),
                                    rel_error=abs(got[j] - preset - shares[j])
                                    / max(abs(preset + shares[j]), 1e-300))
                    for j in overwrote],
        facts=Facts(where=method, value=", ".join(wrong)),
    )


def _cases() -> st.SearchStrategy[Case]:
    ups = st.integers(-24, 24).filter(lambda k: abs(k) not in (0, 8)).map(lambda k: k / 8)
    return st.fixed_dictionaries({
        "pick": st.integers(0, 63), "a": LEAF, "values": st.lists(LEAF, min_size=3, max_size=3),
        "number": st.integers(0, len(NUMBERS) - 1), "upstream": ups})


def method_checks(name: str) -> list[Check]:
    """The checks of the item of methods the engine adds (:data:`METHODS_ITEM`)."""

    def run(check: str) -> Callable[[Executor, Case], bool]:
        def judge(ex: Executor, case: Case) -> bool:
            with precision(engine_dtype(ex)):
                return _judge(ex, case, check)

        return judge

    why = ("its forward is not smooth, raises or is not finite at every example tried (no "
           "centred difference is evidence there)")
    return [
        Check("numerical", _cases(), run("numerical"), "each method's _backward passes back "
              "an upstream gradient that is not 1 times centred differences of its own "
              "forward", unjudged=why),
        Check("fan-out", _cases(), run("fan-out"), "where its input fans out (already holds "
              "another use's gradient) each method's _backward adds its share (+=)",
              unjudged=why),
    ]
