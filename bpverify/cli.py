"""The ``bpverify`` command line.

Long because the parser (:func:`build_parser`) states every subcommand and flag in one place,
next to the subcommands that read them; grading itself is in :mod:`bpverify.batch`.

Exit status: 0 when grading completed (whatever the score), 1 with ``grade --fail-under`` when a
score is below it, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from bpverify import registry
from bpverify.batch import MAX_DEFAULT_JOBS, default_jobs, grade_all
from bpverify.grading.engine import DEFAULT_SEED, PROFILE_ENV, PROFILES
from bpverify.grading.rubric import RubricError, load_rubric
from bpverify.model import SubmissionResult
from bpverify.options import FLAGS, SANDBOX_MODES, GradeOptions, OptionError, resolve_profile
from bpverify.output.formats import (
    write_gradescope,
    write_json,
    write_junit,
    write_prairielearn,
)
from bpverify.output.html import write_html
from bpverify.output.terminal import render_table
from bpverify.submission.sandbox import SandboxUnavailable
from bpverify.submission.sandbox import plan as sandbox_plan
from bpverify.submission.worker import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    WorkerExecutor,
    WorkerStartError,
)
from bpverify.version import __version__

__all__ = ["main", "render_table"]

class UsageError(Exception):
    """Bad command-line input; reported in one line with exit status 2."""


def resolve_submission(arg: str) -> Path:
    """The submission path; ``reference`` also finds the reference next to the package."""
    path = Path(arg)
    if path.exists():
        return path
    bundled = Path(__file__).resolve().parent.parent / "reference"
    if arg == "reference" and bundled.is_dir():
        return bundled
    raise UsageError(
        f"submission {arg!r} not found; expected a .py file or a package folder"
        + (" (or 'reference' from a source checkout)" if arg != "reference" else "")
    )


#: Output formats of ``grade``: flag -> (writer, file name inside an --out folder).
_OUTPUTS = {
    "gradescope": (write_gradescope, "results.json"),
    "junit": (write_junit, "junit.xml"),
    "json": (write_json, "bpverify.json"),
    "prairielearn": (write_prairielearn, "prairielearn.json"),
}
#: What ``--out DIR`` writes when no format is named (PrairieLearn's only when asked for).
_DEFAULT_OUTPUTS = ("gradescope", "junit", "json")


def _cmd_grade(args: argparse.Namespace, console: Console) -> int:
    paths = [resolve_submission(s) for s in args.submission]
    options = _check_grade_args(args, paths)
    try:
        load_rubric(args.rubric)
    except RubricError as exc:
        raise UsageError(str(exc)) from None
    where = ("in-process (no isolation)" if options.in_process else
             f"isolated workers ({options.worker_timeout:g} s per call, "
             f"{options.worker_memory_mb} MB"
             + (f", sandbox {options.sandbox})" if options.sandbox != "auto" else ")"))
    plan = None
    if not options.in_process:
        try:
            plan = sandbox_plan(options.sandbox, paths[0] if paths else None)
        except SandboxUnavailable as exc:
            raise UsageError(str(exc)) from None
        where += f" · sandbox: {plan.describe()}"
    console.print(
        f"bpverify {__version__}: grading {', '.join(map(str, paths))} · seed {args.seed} · "
        f"profile {args.profile or 'from $' + PROFILE_ENV + ' or dev'} · {where}",
        style="dim",
    )
    if plan is not None and plan.mode != "off" and plan.not_defended:
        console.print("warning: the sandbox does not defend against: "
                      + "; ".join(plan.not_defended), style="yellow")
    try:
        results = grade_all(paths, options, console)
    except WorkerStartError as exc:
        raise UsageError(f"{exc}. Check --memory, or use --in-process for trusted code") from None
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None
    folders = _folder_names(paths)
    below = []
    for result, folder in zip(results, folders):
        render_table(result, console)
        for fmt, target in _output_paths(args, folder).items():
            writer = _OUTPUTS[fmt][0]
            console.print(f"wrote {writer(result, target)}", style="dim")
        if args.html:
            html = Path(args.out, folder, args.html) if args.out else Path(args.html)
            console.print(f"wrote {write_html(result, html)}", style="dim")
        pct = 100 * result.score / result.max_score if result.max_score else 100.0
        if args.fail_under is not None and pct < args.fail_under:
            below.append(f"{result.submission} scored {pct:.1f}%")
    if len(results) > 1:
        _class_summary(results, folders, args.out, console)
    if below:
        console.print(f"below --fail-under {args.fail_under:g}%: {'; '.join(below)}",
                      style="bold red")
        return 1
    return 0


def grade_options(**fields: Any) -> GradeOptions:
    """:class:`GradeOptions` from command-line values; a bad one is a :class:`UsageError`."""
    try:
        options = GradeOptions(**fields)
        resolve_profile(options.profile)  # $BPVERIFY_PROFILE too: fail now, not mid-grade
    except OptionError as exc:
        raise UsageError(exc.spelled(FLAGS)) from None
    return options


def _check_grade_args(args: argparse.Namespace, paths: list[Path]) -> GradeOptions:
    options = grade_options(
        seed=args.seed, profile=args.profile, examples=args.examples, rubric=args.rubric,
        only=None if args.only is None else tuple(args.only), timeout=args.timeout,
        memory_mb=args.memory, jobs=args.jobs, in_process=args.in_process,
        sandbox=args.sandbox)
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise UsageError(f"--fail-under is a percentage from 0 to 100, got {args.fail_under}")
    files = [f"--{fmt} {getattr(args, fmt)}" for fmt in _OUTPUTS if getattr(args, fmt)]
    if len(paths) > 1 and files and not args.out:
        raise UsageError(f"{len(paths)} submissions would all write {', '.join(files)}; add "
                         "--out DIR to get one results folder per submission")
    if len(paths) > 1 and args.html and not args.out:
        raise UsageError(f"{len(paths)} submissions would all write --html {args.html}; add "
                         "--out DIR to get one report per submission")
    if args.out:
        absolute = [f"--{fmt} {getattr(args, fmt)}" for fmt in _OUTPUTS
                    if getattr(args, fmt) and Path(getattr(args, fmt)).is_absolute()]
        if absolute:
            raise UsageError(f"with --out, output files are named inside each submission's "
                             f"folder; got the absolute {', '.join(absolute)}")
    return options



def _folder_names(paths: list[Path]) -> list[str]:
    """One results folder name per submission: its name, made unique with its parent's."""
    names = [p.stem if p.is_file() else p.name for p in paths]
    shared = {n for n in names if names.count(n) > 1}  # (decided before any is renamed)
    for i, path in enumerate(paths):
        if names[i] in shared:
            names[i] = f"{path.resolve().parent.name}-{names[i]}"
    counts = {n: names.count(n) for n in names}
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if counts[name] > 1:  # still the same: number them in command-line order
            seen[name] = seen.get(name, 0) + 1
            names[i] = f"{name}-{seen[name]}"
    return names


def _output_paths(args: argparse.Namespace, folder: str) -> dict[str, Path]:
    """Format -> file: as given, or inside ``--out DIR/<submission>/`` (every format if none)."""
    chosen = {fmt: getattr(args, fmt) for fmt in _OUTPUTS if getattr(args, fmt)}
    if not args.out:
        return {fmt: Path(f) for fmt, f in chosen.items()}
    chosen = chosen or {fmt: _OUTPUTS[fmt][1] for fmt in _DEFAULT_OUTPUTS}
    return {fmt: Path(args.out, folder, f) for fmt, f in chosen.items()}


def _class_summary(results: list[SubmissionResult], names: list[str], out: str | None,
                   console: Console) -> None:
    """Print the class summary; with ``out``, also write summary.csv and summary.html there."""
    from bpverify.output.summary import render_summary, summarize, write_summary

    summary = summarize(results, names=names)
    render_summary(summary, console)
    if out:
        for path in write_summary(summary, out):
            console.print(f"wrote {path}", style="dim")


def _cmd_summary(args: argparse.Namespace, console: Console) -> int:
    from bpverify.output.summary import ResultFileError, read_result

    paths = [Path(p) for p in args.results]
    try:
        results = [read_result(p) for p in paths]
    except ResultFileError as exc:
        raise UsageError(str(exc)) from None
    # Label each result as `grade --out` named its folder: results/<label>/bpverify.json.
    names = [p.parent.name if p.name == "bpverify.json" else p.stem for p in paths]
    if len(set(names)) < len(names):
        names = [str(p) for p in paths]
    _class_summary(results, names, args.out, console)
    return 0


def _cmd_bundle(args: argparse.Namespace, console: Console) -> int:
    from bpverify.output.bundle import BundleError, write_bundle

    try:
        out = write_bundle(args.out, rubric=args.rubric, seed=args.seed, examples=args.examples,
                           profile=args.profile, timeout=args.timeout, memory=args.memory,
                           sandbox=args.sandbox)
    except BundleError as exc:
        raise UsageError(str(exc)) from None
    console.print(f"wrote {out}: upload it as the autograder of a Gradescope programming "
                  "assignment (Ubuntu 22.04 or newer base image); see docs/batch.md")
    return 0


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    import numpy as np

    from bpverify.grading.spiral import (
        decision_image,
        make_spiral,
        train_softmax_linear,
        train_spiral,
        write_png,
    )
    from bpverify.submission import load_submission

    if args.steps < 1 or args.hidden < 1:
        raise UsageError(f"--steps and --hidden must be at least 1, got {args.steps}, "
                         f"{args.hidden}")
    path = resolve_submission(args.submission)
    loaded = load_submission(path)
    cls = loaded.names.get("TwoLayerNet")
    if cls is None:
        raise UsageError(f"{path} defines no TwoLayerNet"
                         + (f" ({'; '.join(loaded.load_errors)})" if loaded.load_errors else ""))
    X, y = make_spiral(seed=args.seed)
    net = cls(input_dim=2, hidden_dim=args.hidden, num_classes=3, weight_scale=0.01,
              reg=args.reg)
    with console.status(f"training {path.name}'s TwoLayerNet on the spiral…"):
        run = train_spiral(net, X, y, steps=args.steps, learning_rate=args.learning_rate)
        linear = train_softmax_linear(X, y)
    console.print(f"spiral: 3 classes x 100 points, seed {args.seed}")
    console.print(f"a linear softmax classifier: {linear:.0%} training accuracy")
    console.print(f"TwoLayerNet (hidden {args.hidden}, reg {args.reg:g}, {args.steps} steps): "
                  f"{run.accuracy:.0%} training accuracy, final loss {run.final_loss:.3f}")
    console.print("The hidden layer warps space so that the last layer, a linear classifier, "
                  "can separate the arms.", style="dim")
    out = write_png(args.out, decision_image(lambda G: np.argmax(net.loss(G), axis=1), X, y))
    console.print(f"wrote the decision regions to {out}", style="dim")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bpverify",
        description="Property-based verification and teaching harness for backpropagation.",
    )
    parser.add_argument("--version", action="version", version=f"bpverify {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    grade = sub.add_parser(
        "grade", help="check a submission against the contract",
        description="Check every contract item of a submission (a .py file or a package "
        "folder; 'reference' grades the reference implementation).  Student code runs in an "
        "isolated worker process (see docs/isolation.md).  Exit status: 0 when grading "
        "completed, whatever the score; 1 with --fail-under when a score is below it; 2 on "
        "usage errors.",
    )
    grade.add_argument("submission", nargs="+",
                       help="a .py file, a package folder, or 'reference' (several allowed)")
    grade.add_argument("--seed", type=int, default=DEFAULT_SEED,
                       help=f"Hypothesis seed (default {DEFAULT_SEED}); the same seed "
                       "reproduces the same results")
    grade.add_argument("--profile", choices=sorted(PROFILES),
                       help=f"how many examples per check (default: ${PROFILE_ENV} or dev)")
    grade.add_argument("--examples", type=int, help="examples per check (overrides --profile)")
    grade.add_argument("--only", action="append", metavar="ITEM",
                       choices=[i.name for i in registry.all_items()],
                       help="check only this item (repeatable)")
    grade.add_argument("--json", metavar="FILE", help="write the full result model as JSON")
    grade.add_argument("--gradescope", metavar="FILE",
                       help="write Gradescope's results.json (one test per item)")
    grade.add_argument("--prairielearn", metavar="FILE",
                       help="write PrairieLearn's external-grader results.json (one test per "
                       "item; see docs/batch.md)")
    grade.add_argument("--junit", metavar="FILE", help="write JUnit XML (one testcase per check)")
    grade.add_argument("--html", metavar="FILE",
                       help="write a self-contained HTML report: each failure with its minimal "
                       "example, the differing elements, a diagnosis, and circuit diagrams")
    grade.add_argument("--out", metavar="DIR",
                       help="one results folder per submission, DIR/<submission>/, holding the "
                       "files named by --gradescope/--prairielearn/--junit/--json (Gradescope's, "
                       "JUnit's and the JSON if none is given)")
    grade.add_argument("--fail-under", type=float, metavar="PCT",
                       help="exit with status 1 when a submission scores below PCT percent")
    grade.add_argument("--timeout", type=float, metavar="SECONDS",
                       help=f"wall-clock limit per call into the submission (default "
                       f"{DEFAULT_TIMEOUT:g}); an item's calls together get 10 times that")
    grade.add_argument("--memory", type=int, metavar="MB",
                       help=f"the worker's address-space limit (default {DEFAULT_MEMORY_MB})")
    grade.add_argument("--rubric", metavar="NAME|FILE", default=None,
                       help="which items and how many points: a built-in rubric (default, "
                       "cs231n: a CS231n assignment folder as it is, ...) or a TOML file; "
                       "without it, bpverify chooses by what the submission defines and says so")
    grade.add_argument("--jobs", type=int, default=default_jobs(), metavar="N",
                       help="grade in N processes at a time: N submissions of a batch, or "
                       "one submission's items (same results; default: every core, at most "
                       f"{MAX_DEFAULT_JOBS})")
    grade.add_argument("--sandbox", choices=SANDBOX_MODES, default="auto",
                       help="confine the worker in a sandbox: auto (where the system offers "
                       "one, the default), require (refuse to grade without one), off "
                       "(resource limits only); see docs/isolation.md")
    grade.add_argument("--in-process", action="store_true",
                       help="run the submission in bpverify's own process: faster, for "
                       "trusted code and debugging only (no isolation, no limits)")
    grade.set_defaults(func=_cmd_grade)
    demo = sub.add_parser("demo", help="the lecture's demos",
                          description="The lecture's demos: 'spiral' trains a TwoLayerNet on "
                          "spiral data that no linear classifier can separate.")
    demo.add_argument("name", choices=["spiral"])
    demo.add_argument("--submission", default="reference",
                      help="whose TwoLayerNet to train (default: the reference)")
    demo.add_argument("--reg", type=float, default=1e-3, help="L2 strength (default 1e-3)")
    demo.add_argument("--hidden", type=int, default=100, help="hidden units (default 100)")
    demo.add_argument("--steps", type=int, default=3000, help="gradient steps (default 3000)")
    demo.add_argument("--learning-rate", type=float, default=1.0)
    demo.add_argument("--seed", type=int, default=0, help="seed of the data (default 0)")
    demo.add_argument("--out", default="reports/spiral.png", help="PNG of the decision regions")
    demo.set_defaults(func=_cmd_demo)
    lecture = sub.add_parser(
        "lecture", help="the lecture's two backprop examples, gate by gate",
        description="Walk CS231n lecture 4's examples, (x+y)z and the sigmoid neuron, forward "
        "and backward through the contract's gates, with every number computed.")
    lecture.add_argument("--html", metavar="FILE", help="also draw the circuits in an HTML page")
    lecture.set_defaults(func=_cmd_lecture)
    explain = sub.add_parser(
        "explain", help="walk any expression forward and backward, gate by gate",
        description="Build an expression of + - * /, exp, max, sigmoid and numbers into a "
        "circuit of the contract's gates and walk it as the lecture does.  Example: "
        "bpverify explain \"(x+y)*z\" x=-2 y=5 z=-4.  An expression that starts with '-' "
        "goes after '--'.")
    explain.add_argument("expression", help="e.g. \"1/(1 + exp(-(w0*x0 + w1*x1 + w2)))\"")
    explain.add_argument("values", nargs="*", metavar="NAME=VALUE",
                         help="a value for every variable, e.g. x=-2")
    explain.add_argument("--html", metavar="FILE", help="also draw the circuit in an HTML page")
    explain.add_argument("--engine", metavar="FILE",
                         help="also build the circuit with the Value class of this autograd "
                         "engine (micrograd's style; a file or a package folder, run in an "
                         "isolated worker) and compare it with the hand computation, gate by "
                         "gate")
    explain.set_defaults(func=_cmd_explain)
    summary = sub.add_parser(
        "summary", help="a class summary of results graded separately",
        description="Summarize bpverify.json files written by separate runs of `bpverify "
        "grade --out DIR` (on several machines, say): the score distribution and each item's "
        "most common mistakes.  Example: bpverify summary results/*/bpverify.json --out "
        "results/.  Exit status 2 when a file is not a bpverify result.")
    summary.add_argument("results", nargs="+", metavar="RESULT.json",
                         help="bpverify.json files (the JSON of grade --out or --json)")
    summary.add_argument("--out", metavar="DIR",
                         help="write DIR/summary.csv and DIR/summary.html")
    summary.set_defaults(func=_cmd_summary)
    bundle = sub.add_parser(
        "gradescope-bundle", help="write Gradescope's autograder zip",
        description="Write the autograder zip for a Gradescope programming assignment: "
        "setup.sh installs this checkout of bpverify, run_autograder grades each submission "
        "in its own container with the options given here.  See docs/batch.md.")
    bundle.add_argument("--rubric", metavar="NAME|FILE", default="default",
                        help="a built-in rubric (default, cs231n) or a TOML file, copied "
                        "into the zip")
    bundle.add_argument("--out", metavar="ZIP", default="autograder.zip",
                        help="where to write the zip (default autograder.zip)")
    bundle.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"Hypothesis seed of every grade (default {DEFAULT_SEED})")
    count = bundle.add_mutually_exclusive_group()
    count.add_argument("--examples", type=int, metavar="N", help="examples per check")
    count.add_argument("--profile", choices=sorted(PROFILES),
                       help="how many examples per check (default dev)")
    bundle.add_argument("--timeout", type=float, metavar="SECONDS",
                        help=f"wall-clock limit per call (default {DEFAULT_TIMEOUT:g})")
    bundle.add_argument("--memory", type=int, metavar="MB",
                        help=f"the worker's address-space limit (default {DEFAULT_MEMORY_MB})")
    bundle.add_argument("--sandbox", choices=SANDBOX_MODES, default="auto",
                        help="how the worker is confined (default auto; see grade --help)")
    bundle.set_defaults(func=_cmd_bundle)
    return parser


def _cmd_lecture(args: argparse.Namespace, console: Console) -> int:
    from bpverify.output.html import walks_to_html, write_page
    from bpverify.teaching.lecture import render_lecture, shortcut_sentences

    first, neuron = render_lecture(console)
    if args.html:
        page = walks_to_html([first, neuron], title="Lecture 4: backpropagation, gate by gate",
                             notes=[None, ("The sigmoid shortcut", shortcut_sentences(neuron))])
        console.print(f"wrote {write_page(args.html, page)}", style="dim")
    return 0


def _cmd_explain(args: argparse.Namespace, console: Console) -> int:
    from bpverify.output.html import walks_to_html, write_page
    from bpverify.teaching.explain import ExplainError, explain, parse_values
    from bpverify.teaching.lecture import render_walk

    try:
        if args.engine:
            return _explain_engine(args, console)
        walk = explain(args.expression, parse_values(args.values))
    except ExplainError as exc:
        raise UsageError(str(exc)) from None
    render_walk(walk, console)
    if args.html:
        page = walks_to_html([walk], title=f"bpverify explain: {walk.title}")
        console.print(f"wrote {write_page(args.html, page)}", style="dim")
    return 0


def _explain_engine(args: argparse.Namespace, console: Console) -> int:
    """explain --engine: the hand walk, then the student's engine beside it (in a worker)."""
    from bpverify.output.html import walks_to_html, write_page
    from bpverify.teaching.engine_comparison import compare_engine, render_comparison
    from bpverify.teaching.explain import parse_values
    from bpverify.teaching.lecture import render_walk

    engine = Path(args.engine)
    if not engine.exists():
        raise UsageError(f"--engine {args.engine}: no such file or folder")
    values = parse_values(args.values)
    try:
        executor = WorkerExecutor(engine)
    except (SandboxUnavailable, ValueError) as exc:
        raise UsageError(f"--engine {args.engine}: {exc}") from None
    try:
        walk, comparison = compare_engine(args.expression, values, executor, args.engine)
    finally:
        executor.close()
    render_walk(walk, console)
    render_comparison(walk, comparison, console)
    if args.html:
        page = walks_to_html([walk], title=f"bpverify explain: {walk.title}")
        console.print(f"wrote {write_page(args.html, page)}", style="dim")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if "jax" not in sys.modules:  # the command's own process: JAX need not start a GPU backend
        os.environ.setdefault("JAX_PLATFORMS", "cpu")  # (the oracles compute on the CPU)
    parser = build_parser()
    args = parser.parse_args(argv)
    # soft_wrap: long paths and messages stay on one line (terminals wrap them anyway).
    console = Console(highlight=False, soft_wrap=True)
    try:
        return int(args.func(args, console))
    except UsageError as exc:
        print(f"bpverify: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
