"""The ``bpverify`` command line.

Exit status: 0 when grading completed (whatever the score), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .contract import ITEMS, OPTIONAL_ITEMS
from .engine import DEFAULT_SEED, PROFILE_ENV, PROFILES, check_submission
from .model import SubmissionResult

__all__ = ["main", "render_table"]

_STATUS_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "not implemented": "yellow",
    "skipped": "dim",
}


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


def render_table(result: SubmissionResult, console: Console) -> None:
    """The terminal summary: one row per item, then every failure explained."""
    table = Table(title=f"bpverify: {result.submission}", title_justify="left")
    table.add_column("item")
    table.add_column("checks", justify="right")
    table.add_column("status")
    table.add_column("first failure", overflow="fold", max_width=70)
    for item in result.items:
        judged = [c for c in item.checks if c.status != "skipped"]
        passed = sum(c.status == "passed" for c in judged)
        first = item.first_failure
        table.add_row(
            item.name,
            f"{passed}/{len(judged)}" if item.checks else "-",
            Text(item.status, style=_STATUS_STYLE[item.status]),
            f"{first.name}: {first.message.splitlines()[0]}" if first else item.message,
        )
    console.print(table)
    failures = [(i, c) for i in result.items for c in i.checks if c.status == "failed"]
    for item, check in failures:
        console.print(Text(f"\n{item.name} · {check.name}", style="bold red"))
        console.print(Text(check.message))
        if check.example is not None:
            console.print(Text(f"minimal example: {_compact(check.example)}", style="dim"))
    n_pass = sum(i.passed for i in result.items)
    console.print(
        f"\n{n_pass}/{len(result.items)} items passed in {result.duration_s:.1f} s · "
        f"profile {result.profile} · seed {result.seed}"
    )
    console.print(
        Text(f"reproduce: bpverify grade {result.submission} --seed {result.seed} "
             f"--profile {result.profile}", style="dim")
    )


def _compact(value: object, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + " …"


def _cmd_grade(args: argparse.Namespace, console: Console) -> int:
    path = resolve_submission(args.submission)
    if args.examples is not None and args.examples < 1:
        raise UsageError(f"--examples must be at least 1, got {args.examples}")
    console.print(
        f"bpverify {__version__}: grading {path} · seed {args.seed} · "
        f"profile {args.profile or 'from $' + PROFILE_ENV + ' or dev'}",
        style="dim",
    )
    with console.status("grading…") as status:
        result = check_submission(
            path,
            seed=args.seed,
            profile=args.profile,
            max_examples=args.examples,
            only=args.only,
            progress=lambda name: status.update(f"checking {name}…"),
        )
    render_table(result, console)
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.to_json() + "\n")
        console.print(f"wrote {out}", style="dim")
    return 0


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    import numpy as np

    from .spiral import decision_image, make_spiral, train_softmax_linear, train_spiral, write_png
    from .student import load_submission

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
        "folder; 'reference' grades the reference implementation).",
    )
    grade.add_argument("submission", help="a .py file, a package folder, or 'reference'")
    grade.add_argument("--seed", type=int, default=DEFAULT_SEED,
                       help=f"Hypothesis seed (default {DEFAULT_SEED}); the same seed "
                       "reproduces the same results")
    grade.add_argument("--profile", choices=sorted(PROFILES),
                       help=f"how many examples per check (default: ${PROFILE_ENV} or dev)")
    grade.add_argument("--examples", type=int, help="examples per check (overrides --profile)")
    grade.add_argument("--only", action="append", metavar="ITEM",
                       choices=[i.name for i in (*ITEMS, *OPTIONAL_ITEMS)],
                       help="check only this item (repeatable)")
    grade.add_argument("--json", metavar="FILE", help="write the full result model as JSON")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    try:
        return int(args.func(args, console))
    except UsageError as exc:
        print(f"bpverify: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
