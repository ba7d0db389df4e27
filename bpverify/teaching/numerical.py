"""The drawing of a failed gradient check: your backward against your own forward's slope.

The lecture's two ways to get a gradient, side by side for the element where they disagree
most: the *numerical gradient* (centred differences of the submission's own forward, moving
that one element a tiny step each way) and the *analytic gradient* (what its backward
returned).  A correct backward is the derivative of its forward, so the two agree; where they
do not, one of them is wrong (the forward check says whether the forward is right).
"""

from __future__ import annotations

from bpverify.feedback.words import num
from bpverify.model import CheckResult
from bpverify.teaching.figures import Figure, Formula, Line

__all__ = ["numerical_figure"]


def numerical_figure(check: CheckResult) -> Figure | None:
    """The gradient check's drawing of a failed numerical check with located elements."""
    if check.status != "failed" or check.kind != "numerical" or not check.mismatches:
        return None
    m = check.mismatches[0]  # the largest disagreement
    where = check.facts.where or "backward"
    at = f"[{', '.join(map(str, m.index))}]" if m.index else ""
    element = f"{m.value}{at}"
    # dx is the gradient of x (dW1 of W1); a net's grads are named as its parameters
    moved = f"{m.value[1:] if len(m.value) > 1 and m.value[0] == 'd' else m.value}{at}"
    lines = (
        Line("f = sum(forward(inputs) * dout)",
             note="the scalar whose gradient backward returns"),
        Line(f"numerical gradient: (f({moved} + h) - f({moved} - h)) / 2h",
             value=num(m.expected)),
        Line(f"analytic gradient: {element} from your {where}", value=num(m.got), ring=True,
             note="disagrees", yours=True),
    )
    count = check.mismatch_count or len(check.mismatches)
    callout = [
        f"Moving {moved} a tiny step h each way, your own forward changes at a rate of "
        f"{num(m.expected)}; your {where} says {num(m.got)}.",
        "A backward must be the derivative of its forward: here one of them is wrong (the "
        "forward check says whether the forward is).",
    ]
    if count > 1:
        callout.append(f"{count} elements disagree; the one that disagrees most is drawn.")
    return Figure(
        title=f"Gradient check: {where} against centred differences of your forward",
        parts=(Formula("gradient check", lines),),
        callout=tuple(callout),
        intro=(f"The numerical and the analytic gradient of {element}, at the minimal "
               "example."),
    )
