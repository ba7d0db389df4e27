"""Every format of the result model: terminal, Gradescope, JUnit, JSON, HTML, SVG, summary.

Rule: pure functions of results (plus the files they write); never grades anything.
"""
