"""The runnable lecture and ``bpverify explain``: the lecture's numbers, computed, not typed in."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest
from rich.console import Console

from bpverify import cli
from bpverify.contract import CIRCUITS
from bpverify.feedback.words import num
from bpverify.grading import oracles
from bpverify.model import GateStep
from bpverify.teaching.explain import ExplainError, build, explain, parse_values
from bpverify.teaching.lecture import Walk, lecture_walks, render_lecture, sigmoid_shortcut

SIGMOID = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"


@pytest.fixture(scope="module")
def walks() -> tuple[Walk, Walk]:
    return lecture_walks()


def _step(walk: Walk, gate_label: str, output: str) -> GateStep:
    return next(s for s in walk.steps if s.label == gate_label and s.output == output)


# --- the lecture's worked numbers -----------------------------------------------------------


def test_first_example_numbers(walks: tuple[Walk, Walk]) -> None:
    first, _ = walks
    assert first.values["q"] == 3.0 and first.values["f"] == -12.0
    assert first.grads == {"f": 1.0, "q": -4.0, "z": 3.0, "x": -4.0, "y": -4.0}


def test_sigmoid_neuron_numbers_as_the_lecture_writes_them(walks: tuple[Walk, Walk]) -> None:
    _, neuron = walks
    recip = _step(neuron, "1/x", "f")
    assert (num(recip.input_values[0]), num(recip.output_value)) == ("1.37", "0.73")
    assert num(recip.local_grads[0]) == "-0.53"
    assert num(_step(neuron, "exp", "g").output_value) == "0.37"  # e^-1
    assert num(_step(neuron, "exp", "g").local_grads[0]) == "0.37"
    assert num(_step(neuron, "+1", "h").grads[0]) == "-0.53"
    assert num(_step(neuron, "*-1", "e").grads[0]) == "0.20"
    shown = {w: num(neuron.grads[w]) for w in neuron.inputs}
    assert shown == {"w0": "-0.20", "x0": "0.39", "w1": "-0.39", "x1": "-0.59", "w2": "0.20"}


def test_sigmoid_shortcut_matches_the_walk(walks: tuple[Walk, Walk]) -> None:
    _, neuron = walks
    sc = sigmoid_shortcut(neuron)
    assert sc.pre == 1.0 and num(sc.out) == "0.73"
    assert math.isclose(sc.local, (1 - sc.out) * sc.out, rel_tol=1e-12)
    assert num(sc.local) == "0.20"
    assert math.isclose(sc.grad, neuron.grads["d"], rel_tol=1e-12)


def test_every_gradient_is_local_times_upstream(walks: tuple[Walk, Walk]) -> None:
    for w in walks:
        for s in w.steps:
            for g, local in zip(s.grads, s.local_grads):
                assert math.isclose(g, local * s.upstream, rel_tol=1e-12, abs_tol=1e-15)


def test_walk_agrees_with_the_reference_gates(walks: tuple[Walk, Walk]) -> None:
    """The oracle engine and the reference classes, run by hand, give the same numbers."""
    import reference

    for w in walks:
        wires = dict(w.values)
        gates = []
        for node in w.nodes:
            cls = getattr(reference, node.gate)
            g = cls() if node.const is None else cls(node.const)
            out = g.forward(*[wires[i] for i in node.inputs])
            assert math.isclose(float(out), w.values[node.output], rel_tol=1e-12)
            gates.append(g)
        grads = {w.output: 1.0}
        for node, g in zip(reversed(w.nodes), reversed(gates)):
            back = g.backward(grads[node.output])
            back = back if isinstance(back, tuple) else (back,)
            for name, d in zip(node.inputs, back):
                grads[name] = grads.get(name, 0.0) + float(d)
        for name in w.inputs:
            assert math.isclose(grads[name], w.grads[name], rel_tol=1e-12)


def test_lecture_command_prints_the_walkthrough(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lecture"]) == 0
    out = capsys.readouterr().out
    for text in ("q = x + y = 3", "f = q * z = -12", "df/dz = 3: increase z by a small h and f "
                 "increases by 3h", "An add gate distributes the gradient equally",
                 "A multiply gate switches", "The local gradient of 1/x is -1/x² = -1/1.37² = "
                 "-0.53", "e^-1 = 0.37", "df/dx0 = 0.39", "df/dx1 = -0.59", "df/dw2 = 0.20",
                 "(1 - 0.73) × 0.73 = 0.20"):
        assert text in " ".join(out.split()), text


def test_lecture_html_draws_both_circuits(tmp_path: Path) -> None:
    page = tmp_path / "lecture.html"
    assert cli.main(["lecture", "--html", str(page)]) == 0
    html = page.read_text()
    assert html.count("<svg") == 2 and "The sigmoid shortcut" in html
    assert 'class="gate guilty"' not in html  # nothing is wrong in the lecture


# --- explain --------------------------------------------------------------------------------


def test_explain_builds_the_lecture_circuit() -> None:
    circuit = build(SIGMOID)
    lecture = CIRCUITS["circuit sigmoid neuron"]
    assert [(n.gate, n.label, n.const) for n in circuit.nodes] == [
        (n.gate, n.label, n.const) for n in lecture.nodes
    ]
    walk = explain(SIGMOID, dict(lecture.lecture_values))
    assert {w: num(walk.grads[w]) for w in walk.inputs} == {
        "w0": "-0.20", "x0": "0.39", "w1": "-0.39", "x1": "-0.59", "w2": "0.20"}


@pytest.mark.parametrize(
    ("expr", "fn", "values"),
    [
        ("(x+y)*z", lambda x, y, z: (x + y) * z, {"x": -2.0, "y": 5.0, "z": -4.0}),
        ("x*x + 3*x - 1", lambda x: x * x + 3 * x - 1, {"x": 1.5}),
        ("x/y - 2/x", lambda x, y: x / y - 2 / x, {"x": 0.7, "y": -1.3}),
        ("max(x, 0)*y + max(x, y, 1.5)", lambda x, y: jnp.maximum(x, 0) * y
         + jnp.maximum(jnp.maximum(x, y), 1.5), {"x": 2.0, "y": -3.0}),
        ("-exp(-x) + sigmoid(x*y)", lambda x, y: -jnp.exp(-x) + jax.nn.sigmoid(x * y),
         {"x": 0.3, "y": 2.0}),
        ("(a - b)/(a + b)", lambda a, b: (a - b) / (a + b), {"a": 3.0, "b": 1.0}),
    ],
)
def test_explain_matches_jax(expr: str, fn: Callable[..., Any], values: dict[str, float]) -> None:
    """The same expression twice: gate by gate, and as one function under jax.grad."""
    walk = explain(expr, values)
    args = [values[k] for k in walk.inputs]
    with oracles.float64():  # bpverify leaves the process's JAX in float32: ask for float64
        value = float(fn(*args))
        grads = [float(g) for g in jax.grad(fn, argnums=tuple(range(len(args))))(*args)]
    assert math.isclose(walk.values[walk.output], value, rel_tol=1e-12)
    for name, g in zip(walk.inputs, grads):
        assert math.isclose(walk.grads[name], float(g), rel_tol=1e-10, abs_tol=1e-12), name


def test_fan_out_adds(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "x*x", "x=3"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "x is used 2 times, so its gradients add: 3 + 3 = 6" in out


@pytest.mark.parametrize(
    ("expr", "fragment", "column"),
    [
        ("x**2 + y", "the operator ** is not supported; write x*x", 1),
        ("x + np.exp(y)", "the attribute .exp cannot be called; write exp(...) without a module",
         5),
        ("x + y if x else y", "a conditional expression is not supported", 1),
        ("foo(x)", "unknown function foo()", 1),
        ("x + 'a'", "the constant 'a' is not a number", 5),
        ("x[0] * 2", "indexing is not supported", 1),
        ("x +", "invalid syntax (at the end)", None),
        ("__import__('os')", "unknown function __import__()", 1),
    ],
)
def test_explain_rejects_unsupported_syntax(expr: str, fragment: str, column: int | None) -> None:
    with pytest.raises(ExplainError) as info:
        build(expr)
    text = str(info.value)
    assert fragment in text
    if column is not None:
        assert f"(column {column})" in text
        assert text.splitlines()[-1].index("^") - 2 == column - 1  # the caret points there


def test_explain_value_errors() -> None:
    with pytest.raises(ExplainError, match=r"no value for y; the expression uses x, y"):
        explain("x*y", {"x": 1.0})
    with pytest.raises(ExplainError, match=r"z is not in the expression"):
        explain("x*y", {"x": 1.0, "y": 2.0, "z": 3.0})
    with pytest.raises(ExplainError, match=r"expected a number after '=', got 'abc'"):
        parse_values(["x=abc"])
    with pytest.raises(ExplainError, match=r"expected NAME=VALUE"):
        parse_values(["x"])
    with pytest.raises(ExplainError, match=r"the 1/x gate \(ReciprocalGate\) gets x = 0"):
        explain("1/x", {"x": 0.0})


def test_explain_command_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["explain", "x**2", "x=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpverify: error: cannot explain 'x**2'") and "^^^^" in err
    page = tmp_path / "e.html"
    assert cli.main(["explain", "--html", str(page), "--", "-x*max(y, 0)", "x=3", "y=2"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "A max gate routes the gradient: the larger input y = 2 gets all of the upstream -3" \
        in out
    assert page.read_text().count("<svg") == 1


def test_render_lecture_returns_the_walks() -> None:
    console = Console(record=True, width=200)
    first, neuron = render_lecture(console)
    assert first.title.startswith("f(x, y, z)") and neuron.output == "f"
