"""The terminal report: a table of items, then every failure explained (rich).

A pure function of the result model, like every format: the diagnosis it shows is the one the
engine stored on the check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpverify.feedback.words import example_code, example_text, hint, tally
from bpverify.model import ItemResult, SubmissionResult

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["STATUS_STYLE", "render_table"]

#: How each status is coloured.
STATUS_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "not implemented": "yellow",
    "skipped": "dim",
}
#: How an optional item the submission lacks is shown: not graded, nothing to fix.
ABSENT = "optional"


def status_label(item: ItemResult) -> str:
    """The item's status as the table shows it ("missing" or "optional" for one not defined)."""
    if item.status == "not implemented":
        return "missing" if item.required else ABSENT
    return item.status


def render_table(result: SubmissionResult, console: Console) -> None:
    """The terminal summary: one row per item, then every failure explained."""
    from rich.table import Table
    from rich.text import Text

    for note in result.notes:
        console.print(Text(f"note: {note}", style="cyan"))
    table = Table(title=f"bpverify: {result.submission}", title_justify="left")
    table.add_column("item")
    table.add_column("checks", justify="right")
    table.add_column("status")
    table.add_column("points", justify="right")
    table.add_column("first failure", overflow="fold", max_width=70)
    for item in result.items:
        judged = [c for c in item.checks if c.status != "skipped"]
        passed = sum(c.status == "passed" for c in judged)
        first = item.first_failure
        table.add_row(
            item.name,
            f"{passed}/{len(judged)}" if item.checks else "-",
            Text(status_label(item), style="dim" if item.absent else STATUS_STYLE[item.status]),
            "-" if item.absent else f"{item.score:.3g}/{item.max_score:g}",
            f"{first.name}: {first.message.splitlines()[0]}" if first and not item.missing
            else item.message,
            style="dim" if item.absent else None,
        )
    console.print(table)
    failures = [(i, c) for i in result.items for c in i.checks if c.status == "failed"]
    for item, check in failures:
        console.print(Text(f"\n{item.name} · {check.name}", style="bold red"))
        console.print(Text(check.message))
        if said := hint(check):
            console.print(Text(said, style="yellow"))
        if example_code(check.example) is not None:
            console.print(Text("minimal example:", style="dim"))
            console.print(Text(example_text(check.example), style="cyan"))
        elif check.example is not None:
            console.print(Text(f"minimal example: {example_text(check.example)}",
                               style="dim"))
    console.print(
        f"\n{tally(result)}, "
        f"{result.score:.4g}/{result.max_score:g} points, "
        f"in {result.duration_s:.1f} s · "
        f"profile {result.profile} · seed {result.seed}"
    )
    console.print(Text(f"reproduce: {result.reproduce}", style="dim"))
