"""From the facts of a failed check to the mistake behind it, in the lecture's words.

Rule: pure functions of the result model; never runs a submission, an oracle or Hypothesis.
"""
