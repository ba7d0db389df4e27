"""Benchmark bpverify.check_gradient against its peers on a CIFAR-sized two-layer net.

Run from the repository root:

    python benchmarks/gradcheck_bench.py                 # full run, a few minutes
    python benchmarks/gradcheck_bench.py --quick         # smaller samples, ~1 minute
    python benchmarks/gradcheck_bench.py --trials 10 --nets 40 --seed 3

Workload: the softmax loss of a two-layer ReLU net, N=16, D=3072, H=100, C=10
(308,310 parameters), CS231n assignment 1 style: mean-subtracted pixel data,
weights N(0, 1e-4^2), zero biases, L2 regularisation 0.05.  The same loss is
written once in NumPy (for bpverify and the per-element loop), once in torch
and once in jax, all float64.  The peers check the *claimed* gradient (not
their own autodiff): a torch.autograd.Function / jax.custom_vjp whose
backward returns it.

Compared, in one run:
  * bpverify.check_gradient (default settings);
  * torch.autograd.gradcheck(fast_mode=True) on the same net, and slow mode
    (full Jacobian) on a small net (N=4, D=32, H=10, C=3);
  * jax.test_util.check_grads(order=1, modes=["rev"]);
  * the CS231n per-element loop (eval_numerical_gradient, h=1e-5), timed on a
    sample of elements and extrapolated to all 308,310.

torch and jax are optional: missing ones print "not installed" rows.  Nothing
here is a test; run it by hand and paste the table into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib
import io
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bpverify.gradcheck import check_gradient

# --------------------------------------------------------------------------- #
# Workload
# --------------------------------------------------------------------------- #

N, D, H, C = 16, 3072, 100, 10
SMALL = (4, 32, 10, 3)  # torch slow mode runs on this net: 2n = 746 evaluations
CS231N_STD = 1e-4  # TwoLayerNet(std=1e-4) in the assignment
REG = 0.05
# CS231n course notes: "1e-4 > relative error is usually okay for objectives
# with kinks"; the per-element loop flags elements above it.
LOOP_REL_TOL = 1e-4
LOOP_STEP = 1e-5  # eval_numerical_gradient's default h
# Untimed calls before a tool's timed block: torch takes about five calls to
# settle into its steady state (its allocator and thread pool warm up).
WARMUP_CALLS = 5


@dataclasses.dataclass
class Net:
    """A two-layer net at a point: data, labels, parameters (W1, b1, W2, b2)."""

    x: np.ndarray
    y: np.ndarray
    params: list[np.ndarray]
    reg: float = REG

    def loss(self, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> float:
        z = self.x @ w1 + b1
        s = np.maximum(z, 0.0) @ w2 + b2
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        data = -logp[np.arange(len(self.y)), self.y].mean()
        return float(data + 0.5 * self.reg * (np.sum(w1 * w1) + np.sum(w2 * w2)))

    def grads(self) -> list[np.ndarray]:
        w1, b1, w2, b2 = self.params
        z = self.x @ w1 + b1
        h = np.maximum(z, 0.0)
        s = h @ w2 + b2
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(self.y)), self.y] -= 1.0
        ds = p / len(self.y)
        dz = (ds @ w2.T) * (z > 0)  # ReLU'(0) = 0, the usual backward
        return [
            self.x.T @ dz + self.reg * w1,
            dz.sum(axis=0),
            h.T @ ds + self.reg * w2,
            ds.sum(axis=0),
        ]

    @property
    def size(self) -> int:
        return sum(p.size for p in self.params)


def make_net(seed: int, *, scheme: str = "cs231n", kink_dense: bool = False, dims=None) -> Net:
    """scheme "cs231n": pixel-like data, std 1e-4 weights, zero biases.
    scheme "he": standardised data, He-initialised weights, small random biases.
    kink_dense: every hidden pre-activation of the first sample is exactly 0."""
    n, d, h, c = dims or (N, D, H, C)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    if scheme == "cs231n":
        pixels = rng.integers(0, 256, size=(n, d)).astype(np.float64)
        x = pixels - 127.5  # mean-subtracted, as in the assignment's preprocessing
        params = [
            CS231N_STD * rng.standard_normal((d, h)),
            np.zeros(h),
            CS231N_STD * rng.standard_normal((h, c)),
            np.zeros(c),
        ]
    else:
        x = rng.standard_normal((n, d))
        params = [
            np.sqrt(2.0 / d) * rng.standard_normal((d, h)),
            0.1 * rng.standard_normal(h),
            np.sqrt(2.0 / h) * rng.standard_normal((h, c)),
            0.1 * rng.standard_normal(c),
        ]
    if kink_dense:
        x[0] = 0.0  # a blank (mean) image...
        params[1][:] = 0.0  # ...and zero biases: z[0, :] == 0 exactly
    return Net(x, y, params)


Pick = tuple[int, tuple[int, ...]]


def wrong_grads(net: Net, grads: list[np.ndarray], count: int, rng) -> tuple[list, list[Pick]]:
    """Copy grads with `count` elements, uniform over all parameters, made wrong.

    Each gets an error of 0.5-2x max(|g_i|, rms of its argument's gradient),
    random sign: a CS231n relative error of roughly 0.2 to 0.7."""
    sizes = [p.size for p in net.params]
    picks: list[Pick] = []
    for flat in rng.choice(sum(sizes), count, replace=False):
        a = 0
        while flat >= sizes[a]:
            flat -= sizes[a]
            a += 1
        picks.append((a, tuple(int(j) for j in np.unravel_index(flat, net.params[a].shape))))
    wrong = [g.copy() for g in grads]
    for a, index in picks:
        typical = max(abs(wrong[a][index]), float(np.sqrt(np.mean(grads[a] ** 2))))
        wrong[a][index] += typical * rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0])
    return wrong, picks


# --------------------------------------------------------------------------- #
# Tools.  Each check returns an Outcome; None fields mean "not applicable".
# --------------------------------------------------------------------------- #


@dataclasses.dataclass
class Outcome:
    seconds: float
    evaluations: int
    passed: bool
    named: bool | None = None  # did it name exactly the wrong elements?
    note: str = ""


class Counter:
    def __init__(self) -> None:
        self.calls = 0


def run_bpverify(net: Net, grads: list[np.ndarray], picks: Sequence[Pick] = (), seed: int = 0):
    start = time.perf_counter()
    result = check_gradient(net.loss, net.params, grads, seed=seed)
    seconds = time.perf_counter() - start
    found = {(m.arg, m.index) for m in result.mismatches}
    named = found == set(picks) if picks else None
    note = f"{len(result.kinks)} kinks" if result.kinks else ""
    return Outcome(seconds, result.evaluations, result.ok, named, note)


class TorchTool:
    """torch.autograd.gradcheck on a Function whose backward returns the claim."""

    def __init__(self) -> None:
        self.torch = importlib.import_module("torch")
        self.module = importlib.import_module("torch.autograd.gradcheck")
        self.original_slow_error = self.module._run_slow_mode_and_get_error

    def loss_fn(self, net: Net, claimed: list[np.ndarray], counter: Counter):
        torch = self.torch
        x = torch.from_numpy(net.x)
        y = torch.from_numpy(net.y)
        claim = [torch.from_numpy(g) for g in claimed]
        reg = net.reg

        class Loss(torch.autograd.Function):
            @staticmethod
            def forward(ctx, w1, b1, w2, b2):
                counter.calls += 1
                s = torch.relu(x @ w1 + b1) @ w2 + b2
                data = torch.nn.functional.cross_entropy(s, y)
                return data + 0.5 * reg * ((w1 * w1).sum() + (w2 * w2).sum())

            @staticmethod
            def backward(ctx, grad_out):
                return tuple(grad_out * c for c in claim)

        return Loss.apply

    def check(self, net: Net, grads: list[np.ndarray], *, fast: bool) -> Outcome:
        torch = self.torch
        counter = Counter()
        fn = self.loss_fn(net, grads, counter)
        inputs = tuple(torch.tensor(p, requires_grad=True) for p in net.params)
        # On a fast-mode failure torch recomputes the full Jacobian in slow mode
        # (2n evaluations, minutes here) only to word its error message; the
        # verdict is already known, so that step is skipped and noted.
        if fast:
            self.module._run_slow_mode_and_get_error = lambda *a, **k: ""
        start = time.perf_counter()
        try:
            passed = bool(torch.autograd.gradcheck(fn, inputs, fast_mode=fast))
        except self.module.GradcheckError:
            passed = False
        finally:
            self.module._run_slow_mode_and_get_error = self.original_slow_error
        return Outcome(time.perf_counter() - start, counter.calls, passed)


class JaxTool:
    """jax.test_util.check_grads(order=1, modes=["rev"]) on a custom_vjp."""

    def __init__(self) -> None:
        self.jax = importlib.import_module("jax")
        self.jax.config.update("jax_enable_x64", True)  # compare in float64 like the others
        self.jnp = importlib.import_module("jax.numpy")
        self.check_grads = importlib.import_module("jax.test_util").check_grads

    def check(self, net: Net, grads: list[np.ndarray]) -> Outcome:
        jax, jnp = self.jax, self.jnp
        counter = Counter()
        x, y, reg = jnp.asarray(net.x), jnp.asarray(net.y), net.reg
        claim = [jnp.asarray(g) for g in grads]

        @jax.custom_vjp
        def loss(w1, b1, w2, b2):
            counter.calls += 1
            s = jnp.maximum(x @ w1 + b1, 0.0) @ w2 + b2
            logp = jax.nn.log_softmax(s)
            data = -jnp.mean(logp[jnp.arange(len(net.y)), y])
            return data + 0.5 * reg * (jnp.sum(w1 * w1) + jnp.sum(w2 * w2))

        loss.defvjp(
            lambda *ps: (loss(*ps), None),
            lambda _, g: tuple(g * c for c in claim),
        )
        params = tuple(jnp.asarray(p) for p in net.params)
        start = time.perf_counter()
        try:
            self.check_grads(loss, params, order=1, modes=["rev"])
            passed = True
        except AssertionError:
            passed = False
        return Outcome(time.perf_counter() - start, counter.calls, passed)


def cs231n_loop(net: Net, grads: list[np.ndarray], sample: list[Pick]) -> tuple[float, int, set]:
    """eval_numerical_gradient's loop body on the sampled elements.

    Returns (seconds, evaluations, elements flagged by the CS231n relative
    error |a - n| / max(1e-8, |a| + |n|) > LOOP_REL_TOL)."""
    params = [p.copy() for p in net.params]
    flagged = set()
    evaluations = 0
    start = time.perf_counter()
    for a, index in sample:
        old = params[a][index]
        params[a][index] = old + LOOP_STEP
        plus = net.loss(*params)
        params[a][index] = old - LOOP_STEP
        minus = net.loss(*params)
        params[a][index] = old
        evaluations += 2
        numerical = (plus - minus) / (2 * LOOP_STEP)
        analytic = grads[a][index]
        rel = abs(analytic - numerical) / max(1e-8, abs(analytic) + abs(numerical))
        if rel > LOOP_REL_TOL:
            flagged.add((a, index))
    return time.perf_counter() - start, evaluations, flagged


# --------------------------------------------------------------------------- #
# Experiments
# --------------------------------------------------------------------------- #


@dataclasses.dataclass
class Row:
    tool: str
    seconds: str
    evaluations: str
    correct: str
    one_wrong: str
    names_it: str


def verdict(passed: bool) -> str:
    return "pass" if passed else "mismatch"


def optional(name: str, factory: Callable[[], Any]) -> Any:
    try:
        return factory()
    except ImportError:
        print(f"note: {name} is not installed; its rows say so.", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--trials", type=int, default=10, help="timed repeats and wrong-element trials (10)"
    )
    parser.add_argument(
        "--nets", type=int, default=20, help="random nets for the false-alarm count (20)"
    )
    parser.add_argument(
        "--loop-sample",
        type=int,
        default=2000,
        help="elements timed in the per-element loop (2000)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of nets, wrong elements and directions (0)"
    )
    parser.add_argument("--quick", action="store_true", help="trials 3, nets 6, loop sample 300")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.trials, opts.nets, opts.loop_sample = 3, 6, 300
    rng = np.random.default_rng(opts.seed)

    torch_tool = optional("torch", TorchTool)
    jax_tool = optional("jax", JaxTool)

    net = make_net(opts.seed)
    grads = net.grads()
    one_wrong, one_pick = wrong_grads(net, grads, 1, rng)
    print(f"workload: {net.size:,} parameters, loss {net.loss(*net.params):.6f}", file=sys.stderr)

    rows: list[Row] = []
    facts: dict[str, Any] = {}

    # -- timing: first calls, then warm calls ---------------------------------
    # Every tool is called once before any is timed warm.  That matters: until
    # some large block has been freed, glibc serves each fresh multi-megabyte
    # array with mmap and first-touch page faults, which alone makes a NumPy
    # check several times slower, and torch's first call changes that for
    # every call after it.  Then each tool's warm calls run back to back, in
    # its own block: alternating tools on 2 cores lets the thread pools one
    # leaves spinning (OpenBLAS, OpenMP, XLA) steal time from the other, and
    # pausing between calls makes torch pay its threads' wake-up every time.
    tools: dict[str, Callable[[int], Outcome]] = {
        "bp": lambda i: run_bpverify(net, grads, seed=opts.seed + i)
    }
    if torch_tool:
        tools["torch"] = lambda i: torch_tool.check(net, grads, fast=True)
    if jax_tool:
        tools["jax"] = lambda i: jax_tool.check(net, grads)
    firsts = {name: fn(0) for name, fn in tools.items()}
    warms = {}
    for name, fn in tools.items():
        count = opts.trials if name != "jax" else max(1, opts.trials // 2)  # jax: slow to trace
        for _ in range(WARMUP_CALLS):  # into this tool's own steady state
            fn(0)
        samples = [fn(i + 1).seconds for i in range(count)]
        print(f"{name} warm calls (s): {[round(x, 4) for x in samples]}", file=sys.stderr)
        warms[name] = statistics.median(samples)

    # -- bpverify -----------------------------------------------------------
    first, warm = firsts["bp"], warms["bp"]
    wrong = run_bpverify(net, one_wrong, one_pick, seed=opts.seed)
    facts["bp_warm"] = warm
    rows.append(Row(
        "bpverify.check_gradient",
        f"{warm:.4f} (first {first.seconds:.3f}); one wrong {wrong.seconds:.3f}",
        f"{first.evaluations}; one wrong {wrong.evaluations}",
        verdict(first.passed),
        verdict(wrong.passed),
        "yes" if wrong.named else "no",
    ))  # fmt: skip

    # -- torch ----------------------------------------------------------------
    if torch_tool:
        first_t, warm_t = firsts["torch"], warms["torch"]
        wrong_t = torch_tool.check(net, one_wrong, fast=True)
        facts["torch_warm"] = warm_t
        rows.append(Row(
            "torch gradcheck, fast_mode=True",
            f"{warm_t:.4f} (first {first_t.seconds:.3f})",
            f"{first_t.evaluations} fwd + 1 bwd",
            verdict(first_t.passed),
            verdict(wrong_t.passed),
            "no: one projected number (a)",
        ))  # fmt: skip
        small = make_net(opts.seed, scheme="he", dims=SMALL)
        small_grads = small.grads()
        small_wrong, _ = wrong_grads(small, small_grads, 1, np.random.default_rng(opts.seed))
        slow = torch_tool.check(small, small_grads, fast=False)
        slow_wrong = torch_tool.check(small, small_wrong, fast=False)
        rows.append(Row(
            f"torch gradcheck, slow mode, small net (n={small.size})",
            f"{slow.seconds:.4f}",
            f"{slow.evaluations}",
            verdict(slow.passed),
            verdict(slow_wrong.passed),
            "no: prints both Jacobians",
        ))  # fmt: skip
    else:
        rows.append(Row("torch gradcheck", "not installed", "-", "-", "-", "-"))

    # -- jax ------------------------------------------------------------------
    if jax_tool:
        first_j, warm_j = firsts["jax"], warms["jax"]
        wrong_j = jax_tool.check(net, one_wrong)
        rows.append(Row(
            "jax check_grads, order 1, rev",
            f"{warm_j:.3f} (first {first_j.seconds:.3f})",
            f"{first_j.evaluations} fwd + 1 vjp",
            verdict(first_j.passed),
            verdict(wrong_j.passed),
            "no: one projected number",
        ))  # fmt: skip
    else:
        rows.append(Row("jax check_grads", "not installed", "-", "-", "-", "-"))

    # -- CS231n per-element loop, sampled -------------------------------------
    sizes = [p.size for p in net.params]
    flat = rng.choice(net.size, opts.loop_sample, replace=False)
    sample: list[Pick] = []
    for k in flat:
        a = 0
        while k >= sizes[a]:
            k -= sizes[a]
            a += 1
        sample.append((a, tuple(int(j) for j in np.unravel_index(k, net.params[a].shape))))
    seconds, evals, flagged = cs231n_loop(net, grads, sample)
    _, _, flagged_wrong = cs231n_loop(net, one_wrong, [*sample[:50], *one_pick])
    loop_total = seconds / evals * (2 * net.size)
    facts["loop_total"] = loop_total
    rows.append(Row(
        "CS231n per-element loop (h=1e-5)",
        f"{loop_total:.1f} (extrapolated from {opts.loop_sample} elements: {seconds:.2f} s)",
        f"{2 * net.size + 1:,}",
        f"{verdict(not flagged)} ({len(flagged)}/{opts.loop_sample} sampled > {LOOP_REL_TOL:g})",
        verdict(not flagged_wrong),
        "yes" if flagged_wrong == set(one_pick) else "no",
    ))  # fmt: skip

    # -- targets ----------------------------------------------------------------
    nets = [make_net(opts.seed + 1 + i, scheme=("cs231n", "he")[i % 2]) for i in range(opts.nets)]
    false_alarms = {"bpverify": 0, "torch fast": 0, "jax": 0}
    for i, other in enumerate(nets):
        g = other.grads()
        false_alarms["bpverify"] += not run_bpverify(other, g, seed=i).passed
        if torch_tool:
            false_alarms["torch fast"] += not torch_tool.check(other, g, fast=True).passed
        if jax_tool:
            false_alarms["jax"] += not jax_tool.check(other, g).passed

    kink_nets = [make_net(opts.seed + 100 + i, scheme=("cs231n", "he")[i % 2], kink_dense=True)
                 for i in range(max(2, opts.nets // 4))]  # fmt: skip
    kink_results = []
    for i, other in enumerate(kink_nets):
        g = other.grads()
        bp = check_gradient(other.loss, other.params, g, seed=i)
        tf = torch_tool.check(other, g, fast=True).passed if torch_tool else None
        jx = jax_tool.check(other, g).passed if jax_tool else None
        kink_results.append((bp, tf, jx))

    singles, fives, wrong_evals, wrong_secs = [], [], [], []
    torch_detect = 0
    for i in range(opts.trials):
        for count, tally in ((1, singles), (5, fives)):
            wrong_g, picks = wrong_grads(net, grads, count, rng)
            outcome = run_bpverify(net, wrong_g, picks, seed=i)
            tally.append(bool(outcome.named))
            if count == 1:
                wrong_evals.append(outcome.evaluations)
                wrong_secs.append(outcome.seconds)
                if torch_tool:
                    torch_detect += not torch_tool.check(net, wrong_g, fast=True).passed

    report = Report(
        rows=rows,
        seed=opts.seed,
        nets=opts.nets,
        trials=opts.trials,
        have_torch=torch_tool is not None,
        have_jax=jax_tool is not None,
        bp_warm=facts["bp_warm"],
        torch_warm=facts.get("torch_warm"),
        loop_total=facts["loop_total"],
        false_alarms=false_alarms,
        kink_ok=sum(r[0].ok and not r[0].mismatches for r in kink_results),
        kink_counts=[len(r[0].kinks) for r in kink_results],
        kink_torch=sum(bool(r[1]) for r in kink_results),
        kink_jax=sum(bool(r[2]) for r in kink_results),
        singles=singles,
        fives=fives,
        wrong_evals=wrong_evals,
        wrong_secs=wrong_secs,
        torch_detect=torch_detect,
    )
    print(render(report))
    return 0


# --------------------------------------------------------------------------- #
# Report: one result model, rendered by a pure function
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class Report:
    rows: list[Row]
    seed: int
    nets: int
    trials: int
    have_torch: bool
    have_jax: bool
    bp_warm: float
    torch_warm: float | None
    loop_total: float
    false_alarms: dict[str, int]
    kink_ok: int
    kink_counts: list[int]
    kink_torch: int
    kink_jax: int
    singles: list[bool]
    fives: list[bool]
    wrong_evals: list[int]
    wrong_secs: list[float]
    torch_detect: int


def table_text(rows: list[Row]) -> str:
    headers = ["tool", "seconds", "f evaluations", "correct grad", "one wrong elem.", "names it?"]
    cells = [[r.tool, r.seconds, r.evaluations, r.correct, r.one_wrong, r.names_it] for r in rows]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(h), *(len(c[k]) for c in cells)) for k, h in enumerate(headers)]
        lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths))]
        lines.append("-+-".join("-" * w for w in widths))
        lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
        return "\n".join(lines)
    table = Table(*headers, title="Gradient checks on the 308,310-parameter net")
    for row in cells:
        table.add_row(*row)
    console = Console(record=True, width=170, file=io.StringIO())
    console.print(table)
    return console.export_text()


def render(r: Report) -> str:
    """The report as text: the table (rich if installed) and the targets."""
    n = len(r.kink_counts)
    alarms = f"bpverify {r.false_alarms['bpverify']} false alarms"
    kinks = (
        f"bpverify never a mismatch on {r.kink_ok}/{n}, "
        f"kinks reported: {', '.join(map(str, r.kink_counts))}"
    )
    single = (
        f"{sum(r.singles)}/{len(r.singles)} (median {statistics.median(r.wrong_evals):.0f} "
        f"evaluations, {statistics.median(r.wrong_secs):.3f} s)"
    )
    if r.have_torch:
        alarms += f"; torch fast {r.false_alarms['torch fast']}"
        kinks += f"; torch fast passed {r.kink_torch}/{n}"
        single += f"; torch fast detected {r.torch_detect}/{len(r.singles)}, names none"
    if r.have_jax:
        alarms += f"; jax {r.false_alarms['jax']}"
        kinks += f"; jax passed {r.kink_jax}/{n}"
    lines = [
        table_text(r.rows),
        "(a) torch stops at the fast-mode verdict here; stock torch then recomputes the full "
        "Jacobian in slow mode (2n evaluations) only to print it.",
        "",
        f"Targets (seed {r.seed}, {r.nets} nets, {r.trials} trials):",
        f"  no false alarm on {r.nets} random correct nets: {alarms}",
        f"  kink-dense nets (z[0, :] == 0 exactly): {kinks}",
        f"  one wrong element named exactly: {single}",
        f"  five scattered wrong elements all named: {sum(r.fives)}/{len(r.fives)}",
    ]
    if r.torch_warm:
        lines.append(
            f"  speed vs torch fast mode (warm medians): {r.bp_warm:.4f} s vs "
            f"{r.torch_warm:.4f} s = {r.bp_warm / r.torch_warm:.2f}x (target <= 0.5x)"
        )
    lines.append(
        f"  speed vs per-element loop: {r.loop_total / r.bp_warm:,.0f}x faster (target >= 1000x)"
    )
    lines.append(
        f"  {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{datetime.date.today().isoformat()}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
