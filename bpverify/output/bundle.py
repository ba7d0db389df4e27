"""Gradescope's autograder zip: bpverify, a rubric and the two scripts Gradescope runs.

Gradescope (https://gradescope-autograders.readthedocs.io/en/latest/specs/) unpacks the zip into
``/autograder/source`` and runs ``setup.sh`` there once, as root, when it builds the image; then,
for every submission, in a fresh container, it puts the files in ``/autograder/submission``,
runs ``/autograder/run_autograder`` (a copy of the zip's) from ``/autograder`` and uploads
``/autograder/results/results.json``.  The zip holds, at its root::

    setup.sh          creates /autograder/venv and pip-installs bpverify-src/ into it
    run_autograder    bpverify grade /autograder/submission --gradescope .../results.json ...
    rubric.toml       a custom rubric (built-in ones travel inside bpverify-src/)
    bpverify-src/     pyproject.toml, README.md, bpverify/, reference/ of this checkout

The options chosen here (rubric, seed, examples or profile, limits) are written into
``run_autograder``.  ``AUTOGRADER_ROOT`` replaces ``/autograder`` in both scripts and
``BPVERIFY_PYTHON`` the installed interpreter, so the bundle can be tried outside Gradescope.
The same checkout and options give the same bytes (entries are sorted and dated 1980-01-01).
"""

from __future__ import annotations

import io
import shlex
import zipfile
from pathlib import Path

from bpverify.grading.rubric import RubricError, builtin_names, load_rubric
from bpverify.options import DEFAULT_SEED, FLAGS, GradeOptions, OptionError, Sandbox
from bpverify.version import __version__

__all__ = ["BundleError", "bundle_files", "write_bundle"]

#: Where the package's source sits in the zip, and the checkout it is copied from.
SOURCE_DIR = "bpverify-src"
_CHECKOUT = Path(__file__).resolve().parents[2]
#: What of the checkout is copied: what ``pip install`` needs, and the reference (for the
#: smoke test at the end of setup.sh and for `bpverify grade reference` in the container).
_TOP_FILES = ("pyproject.toml", "README.md")
_TREES = ("bpverify", "reference")
_EXECUTABLE = 0o755
_FILE = 0o644
#: zip's earliest date: entries carry no build time, so a bundle is reproducible.
_EPOCH = (1980, 1, 1, 0, 0, 0)

_SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.  Written by
# `bpverify gradescope-bundle` (bpverify {version}).  It installs bpverify from the copy of
# its source in this zip into a virtual environment that run_autograder uses.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
VENV="${{AUTOGRADER_ROOT:-/autograder}}/venv"

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt-get update
    apt-get install -y python3 python3-venv python3-pip
fi
python3 - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"bpverify needs Python 3.10 or newer, and this image has {{sys.version.split()[0]}}; "
             "choose a newer base image (Ubuntu 22.04) in the autograder settings")
PY
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --no-cache-dir "$SOURCE/{source}"
# The sandbox runs student code as this unprivileged user (docs/isolation.md).  It may read
# Python and numpy, never the grader's files: this folder (bpverify's source with the reference
# solutions) and the installed bpverify package.
if [ "$(id -u)" = 0 ]; then
    id bpverify-worker >/dev/null 2>&1 || useradd --system --user-group --no-create-home \
        --shell /usr/sbin/nologin bpverify-worker
    chmod -R o-rwx "$SOURCE" "$("$VENV/bin/python" -c \
        'import bpverify, os; print(os.path.dirname(bpverify.__file__))')"
fi
# A smoke test: a broken install fails the image build, where the instructor sees it.
"$VENV/bin/bpverify" grade "$SOURCE/{source}/reference" --only MultiplyGate --examples 2 >/dev/null
echo "bpverify installed in $VENV"
"""

_RUN = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission, in a fresh container, from /autograder.  Written
# by `bpverify gradescope-bundle` (bpverify {version}).  It grades /autograder/submission and
# writes /autograder/results/results.json.  To try it elsewhere, AUTOGRADER_ROOT replaces
# /autograder and BPVERIFY_PYTHON the interpreter setup.sh installed.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{BPVERIFY_PYTHON:-$ROOT/venv/bin/python}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"

"$PYTHON" -I -m bpverify grade "$ROOT/submission" --gradescope "$RESULTS" --jobs 1 {options}
status=$?
if [ ! -s "$RESULTS" ]; then
    # bpverify itself failed (its output is in Gradescope's stdout log): still tell the student.
    printf '{{"score": 0, "output": "The autograder could not grade this submission \
(bpverify exited with status %d). Please tell your instructor."}}\\n' "$status" > "$RESULTS"
fi
exit "$status"
"""


class BundleError(ValueError):
    """An option the bundle cannot be built with; the message says what was expected."""


def bundle_files(*, rubric: str = "default", seed: int = DEFAULT_SEED,
                 examples: int | None = None, profile: str | None = None,
                 timeout: float | None = None, memory: int | None = None,
                 sandbox: Sandbox = "auto") -> dict[str, tuple[bytes, int]]:
    """Every file of the zip: its name in the zip -> (content, Unix mode).

    The options are ``bpverify grade``'s (checked as :class:`~bpverify.options.GradeOptions`
    checks them; ``memory`` is ``--memory``), written into run_autograder.
    """
    options = _grade_options(rubric=rubric, seed=seed, examples=examples, profile=profile,
                             timeout=timeout, memory=memory, sandbox=sandbox)
    files: dict[str, tuple[bytes, int]] = {
        "setup.sh": (_SETUP.format(version=__version__, source=SOURCE_DIR).encode(),
                     _EXECUTABLE),
        "run_autograder": (_RUN.format(version=__version__, options=options).encode(),
                           _EXECUTABLE),
    }
    if rubric not in builtin_names():
        files["rubric.toml"] = (Path(rubric).read_bytes(), _FILE)
    files.update(_source_files())
    return files


def write_bundle(path: str | Path = "autograder.zip", *, rubric: str = "default",
                 seed: int = DEFAULT_SEED, examples: int | None = None,
                 profile: str | None = None, timeout: float | None = None,
                 memory: int | None = None, sandbox: Sandbox = "auto") -> Path:
    """Write the zip of :func:`bundle_files` (the same options) to ``path``; return it."""
    files = bundle_files(rubric=rubric, seed=seed, examples=examples, profile=profile,
                         timeout=timeout, memory=memory, sandbox=sandbox)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = (0o100000 | mode) << 16  # a regular file with this mode
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buf.getvalue())
    return out


def _grade_options(*, rubric: str, seed: int, examples: int | None, profile: str | None,
                   timeout: float | None, memory: int | None, sandbox: Sandbox) -> str:
    """``bpverify grade``'s options in run_autograder, validated here rather than per student."""
    if examples is not None and profile is not None:
        raise BundleError(f"examples={examples} and profile={profile!r} both say how many "
                          "examples each check draws; give one of them")
    try:
        options = GradeOptions(seed=seed, profile=profile, examples=examples, rubric=rubric,
                               timeout=timeout, memory_mb=memory,
                               sandbox=sandbox)
    except OptionError as exc:
        raise BundleError(exc.spelled(FLAGS)) from None
    try:
        load_rubric(rubric)
    except RubricError as exc:
        raise BundleError(str(exc)) from None
    where = rubric if rubric in builtin_names() else "$ROOT/source/rubric.toml"
    args = [f'--rubric "{where}"', f"--seed {options.seed}"]
    if options.examples is not None:
        args.append(f"--examples {options.examples}")
    if options.profile is not None:
        args.append(f"--profile {shlex.quote(options.profile)}")
    if options.timeout is not None:
        args.append(f"--timeout {options.timeout:g}")
    if options.memory_mb is not None:
        args.append(f"--memory {options.memory_mb}")
    if options.sandbox != "auto":
        args.append(f"--sandbox {options.sandbox}")
    return " ".join(args)


def _source_files() -> dict[str, tuple[bytes, int]]:
    """The checkout's files that ``pip install`` needs, under ``bpverify-src/``."""
    pyproject = _CHECKOUT / "pyproject.toml"
    if not (pyproject.is_file() and 'name = "bpverify"' in pyproject.read_text("utf-8")):
        raise BundleError(
            f"gradescope-bundle copies bpverify's source into the zip and needs a source "
            f"checkout (pyproject.toml next to the package); bpverify is installed at "
            f"{_CHECKOUT / 'bpverify'} without one. Run it from a checkout: pip install -e ."
        )
    files = {f"{SOURCE_DIR}/{name}": ((_CHECKOUT / name).read_bytes(), _FILE)
             for name in _TOP_FILES}
    for tree in _TREES:
        for p in sorted((_CHECKOUT / tree).rglob("*")):
            rel = p.relative_to(_CHECKOUT)
            if p.is_file() and not any(_skipped(part) for part in rel.parts):
                files[f"{SOURCE_DIR}/{rel.as_posix()}"] = (p.read_bytes(), _FILE)
    return files


def _skipped(part: str) -> bool:
    """Caches, build leftovers, hidden and editor backup files."""
    return (part == "__pycache__" or part.startswith(".") or part.endswith((".pyc", "~"))
            or part.endswith(".egg-info"))
