# ruff: noqa
"""A submission that segfaults while it is imported."""

import ctypes

ctypes.string_at(0)
