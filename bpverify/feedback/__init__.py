"""From the facts of a failed check to the mistake behind it, in the lecture's words.

mistakes (the catalogue: one id per mistake, its idea and summary phrase), diagnose (facts and
values -> a stored Diagnosis), patterns and families (the value-level rules), faults (the
guilty gate of a circuit), words (how values are written in every output).

Rule: pure functions of the result model; never runs a submission, an oracle or Hypothesis,
and never reads a message: diagnoses come from :class:`bpverify.model.Facts` and values.
"""
