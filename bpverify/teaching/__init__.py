"""The lecture made runnable: its worked examples and any expression, walked gate by gate.

Rule: builds on the contract's gates and the model's records; never grades a submission.
"""
