"""What is judged, and how: the engine, the two oracles, the closeness rule, rubrics, checks.

Rule: talks to a submission only through an :class:`~bpverify.submission.Executor`; never
imports rich or jinja2 (words for people are made in feedback/ and output/).
"""
