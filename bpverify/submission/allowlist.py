"""What the sandboxed worker may read: derived from the interpreter that runs it, wherever it lives.

The interpreter says where its standard library is (``sysconfig``'s ``stdlib`` and
``platstdlib``, ``DESTSHARED`` for ``lib-dynload``, the entries of ``sys.path`` under
``sys.base_prefix``), numpy says where it is (a venv's ``site-packages`` or Debian's
``dist-packages``), and ``/proc/self/maps``, read after numpy is imported, says which shared
libraries it loaded.  Nothing assumes a layout: a private prefix under ``/root`` (pyenv), Debian's
``/usr/lib/python3.X`` with a venv in ``/tmp``, a conda prefix alike.

Landlock rules cover whole folders, so a standard-library folder that also holds
``site-packages`` (python.org and pyenv builds) gets a list-only rule on the folder itself and
full rules on its other entries: the worker can list it (Python's import system must, to find
``decimal.py``) but cannot read the packages installed beside it.  No rule ever covers a folder
that contains the grader's own code (bpverify's folder, or the checkout it was installed from).
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
from pathlib import Path

from bpverify.submission.loading import import_paths

__all__ = ["Allowed", "grader_roots", "readable", "stdlib_dirs"]

_PACKAGES = ("site-packages", "dist-packages")


class Allowed:
    """Paths the worker may read and execute beneath (``read``), and folders it may only list."""

    def __init__(self, read: list[str], list_only: list[str]) -> None:
        self.read, self.list_only = read, list_only

    def __repr__(self) -> str:
        return f"Allowed(read={self.read!r}, list_only={self.list_only!r})"


def _is_packages(path: str) -> bool:
    return os.path.basename(path.rstrip("/")) in _PACKAGES


def stdlib_dirs() -> list[str]:
    """The interpreter's standard-library folders (pure Python and compiled), found from the
    interpreter itself: sysconfig's stdlib/platstdlib, DESTSHARED, and ``sys.path`` entries
    under the base prefix or the prefix that are not package folders."""
    paths = sysconfig.get_paths()
    found = [paths["stdlib"], paths["platstdlib"], sysconfig.get_config_var("DESTSHARED") or ""]
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if real and not _is_packages(real) and any(
                real == p or real.startswith(p + os.sep) for p in prefixes):
            found.append(entry)
    out: list[str] = []
    for d in found:
        if d and os.path.isdir(d) and d not in out:
            out.append(d)
    return out


def grader_roots() -> list[Path]:
    """The grader's own code: bpverify's folder, and the checkout holding it unless that is a
    package folder (an installed bpverify)."""
    package = Path(__file__).resolve().parent.parent
    roots = [package]
    if not _is_packages(str(package.parent)):
        roots.append(package.parent)
    return roots


def _covers_grader(path: str, roots: list[Path]) -> bool:
    """Whether a rule on ``path`` would reach the grader's code (``path`` is it or holds it)."""
    try:
        real = Path(path).resolve()
    except OSError:
        return True
    return any(real == r or real in r.parents for r in roots)


def _so_dirs() -> set[str]:
    """Folders of the shared libraries mapped now (Python's, numpy's, the C library's)."""
    dirs = set()
    with contextlib.suppress(OSError), open("/proc/self/maps") as f:
        for line in f:
            name = line.split(None, 5)[-1].strip()
            if name.startswith("/") and ".so" in name:
                dirs.add(os.path.dirname(name))
    return dirs


def readable(submission: str, allow_autodiff: bool) -> Allowed:
    """What the worker may read: the standard library (without the package folders), numpy and
    the shared libraries it loaded, the system's library folders, a few files of /etc and /dev,
    and the submission (with the sibling modules it imports)."""
    import numpy

    read: list[str] = []
    list_only: list[str] = []
    for lib in stdlib_dirs():
        try:
            entries = list(os.scandir(lib))
        except OSError:
            continue
        if any(_is_packages(e.path) for e in entries):
            list_only.append(lib)
            read += [e.path for e in entries if not _is_packages(e.path)]
        else:
            read.append(lib)
    numpy_dir = Path(numpy.__file__).resolve().parent
    read += [str(numpy_dir), str(numpy_dir.with_name("numpy.libs"))]
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    for d in ("/lib", "/usr/lib", "/lib64", "/usr/lib64"):
        read.append(f"{d}/{arch}" if arch and d.endswith("lib") else d)
    read += [d for d in _so_dirs()
             if not any(p in d for p in _PACKAGES) or d.startswith(str(numpy_dir))]
    read += ["/etc/ld.so.cache", "/etc/localtime", "/usr/share/zoneinfo", "/dev/urandom",
             "/dev/zero", submission]
    read += import_paths(submission)  # a chapter file's common/ folder (the book's layout)
    if allow_autodiff:  # the package folders (jax needs more than numpy)
        read += [p for p in sys.path if _is_packages(p)]
    roots = grader_roots()
    keep = [p for p in dict.fromkeys(read) if os.path.exists(p) and not _covers_grader(p, roots)]
    lists = [p for p in dict.fromkeys(list_only) if not _covers_grader(p, roots)]
    return Allowed(keep, lists)
