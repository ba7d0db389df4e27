"""The oracle of a program: each operation's value and local gradients by JAX, in float64.

Operations are batched per kind and compiled once per batch size, not per drawn program;
reverse mode then multiplies and adds the local gradients node by node, as ``jax.grad`` of the
program does.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from bpverify.families.engines.checks.programs import Program, local_value
from bpverify.grading import oracles
from bpverify.operations import OPERATIONS

__all__ = ["local_grads", "program_oracle"]


def _jax_op(op: str, xs: Sequence[Any]) -> Any:
    """The operation's value in jax.numpy, from the one table of operations."""
    return OPERATIONS[op].value(oracles.jax_math(), *xs)


@functools.cache
def _op_fn(op: str, n: int) -> Any:
    """The operation's value and its gradient with respect to each of its ``n`` arguments, over
    a batch of argument vectors, compiled once per operation and batch size (the exponent of
    ``**`` is a constant, never differentiated)."""
    import jax

    def one(*xs: Any) -> Any:
        if op == "**":
            v, g = jax.value_and_grad(lambda a: _jax_op(op, (a, xs[1])))(xs[0])
            return v, (g, g * 0.0)
        return jax.value_and_grad(lambda *a: _jax_op(op, a), argnums=tuple(range(n)))(*xs)

    return jax.jit(jax.vmap(one))


def _bucket(n: int) -> int:
    """Batch sizes padded to a few buckets (64, 256, ...): one compilation serves many."""
    return 1 << max(6, 2 * ((n - 1).bit_length() + 1 >> 1))


def _op_batch(op: str, rows: Sequence[Sequence[float]]) -> tuple[list[float], list[list[float]]]:
    """Values and local gradients of ``op`` at each row of arguments (padded to a bucket)."""
    import numpy as np

    n = len(rows[0])
    cols = np.ones((n, _bucket(len(rows))), dtype=np.float64)
    cols[:, : len(rows)] = np.asarray(rows, dtype=np.float64).T
    with oracles.float64():  # scoped: the user's JAX settings stay as they are
        values, grads = _op_fn(op, n)(*cols)
        values = np.asarray(values)[: len(rows)]
        g = np.stack([np.asarray(x) for x in grads])[:, : len(rows)]
    return values.tolist(), g.T.tolist()


def program_oracle(program: Program, *, grads: bool = True
                   ) -> tuple[float, list[float], list[float]]:
    """The output, every leaf's gradient and every node's adjoint, in float64.

    Each operation's value and local gradients come from ``jax.value_and_grad`` at the inputs
    the node sees, batched per operation (compiled once, not per drawn program); reverse mode
    then multiplies and adds them node by node, as ``jax.grad`` of the program does.  A node's
    adjoint is the upstream gradient a correct engine hands its closure.
    """
    if grads in program.memo:
        return program.memo[grads]
    program.memo[grads] = answer = _program_oracle(program, grads)
    return answer


def _program_oracle(program: Program, grads: bool) -> tuple[float, list[float], list[float]]:
    slots: list[float] = list(program.leaves)
    rows: list[list[float]] = []
    for node in program.nodes:
        xs = [slots[i] if kind == "v" else float(i) for kind, i in node["args"]]
        rows.append(xs)
        slots.append(local_value(node["op"], xs))
    by_op: dict[tuple[str, int], list[int]] = {}
    for j, node in enumerate(program.nodes):
        by_op.setdefault((node["op"], len(rows[j])), []).append(j)
    vals: list[float] = [0.0] * len(rows)
    locs: list[list[float]] = [[] for _ in rows]
    for (op, _), js in by_op.items():
        v, g = _op_batch(op, [rows[j] for j in js])
        for k, j in enumerate(js):
            vals[j], locs[j] = float(v[k]), [float(x) for x in g[k]]
    if not grads:
        return vals[-1], [], []
    adj = [0.0] * len(slots)
    adj[-1] = 1.0
    first = len(program.leaves)
    for j in range(len(program.nodes) - 1, -1, -1):
        for (kind, i), local in zip(program.nodes[j]["args"], locs[j]):
            if kind == "v":
                adj[i] += local * adj[first + j]  # fan-out adds
    return vals[-1], adj[:first], adj[first:]


def local_grads(op: str, xs: Sequence[float]) -> list[float]:
    """d op / d operand at ``xs`` (operands that are Python numbers included), by JAX."""
    return _op_batch(op, [list(xs)])[1][0]
