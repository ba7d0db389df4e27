"""Benchmark: how long grading takes, and how many examples it draws, side by side.

    python benchmarks/grade_bench.py                      # this checkout only
    python benchmarks/grade_bench.py --against c7d9dd0    # and a git revision, interleaved
    python benchmarks/grade_bench.py --against /path/to/venv/bin/python --rounds 3
    python benchmarks/grade_bench.py --against 0242ba7 --rounds 1 --only "class of"
    python benchmarks/grade_bench.py --items-of 0242ba7 --class-size 500 --rounds 1 \
        --only "items (--only)"                           # a class of 500, measured

Every case runs as a fresh process, exactly as a user runs it (``python -m bpverify grade ...``
or ``python -m pytest --bpverify-submission ...``).  With ``--against`` the two versions run
interleaved (new, old, new, old, ...) so that both see the same machine load; the table shows
medians and the ratio new/old of wall-clock time and of CPU time (user + system of the process
and everything it waited for: the ``--jobs`` pool, the helpers, the workers' outer processes;
plus the sandboxed workers in their PID namespace, which no parent reaps, as sampled from
/proc every 0.1 s: class_bench.py), and the peak memory of the whole process tree.  On a
shared machine CPU time is the steadier number.  The class-of-N cases (class_bench.py) also
give per-submission figures and a class of ``--project`` submissions projected from them.
Examples are counted from the JSON results (``examples_run`` of every check).  A git
revision is built once into a virtualenv under ``$XDG_CACHE_HOME/bpverify/bench`` (``git
archive`` + ``pip install``; the working tree is never touched).  This is not a test and is
not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from class_bench import PeakRSS, class_argv, rubric_items

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "reference"
CS231N = ROOT / "tests" / "cs231n_assignment"
CS231N_FOLDERS = ROOT / "tests" / "cs231n_folders"
CACHE_ENV = "BPVERIFY_JAX_CACHE"
PYTEST_CASE = "pytest plugin on the reference"
#: max_examples of each built-in profile (bpverify.options.PROFILES; the same in every version).
PROFILE_EXAMPLES = {"ci": 15, "dev": 30, "thorough": 300}


class BenchError(Exception):
    """A bad argument, said as what was expected and what was got."""


@dataclass
class Version:
    label: str
    python: str


@dataclass
class Run:
    wall: float
    cpu: float
    peak_mb: float = math.nan  #: the process tree's largest resident memory (class_bench.py)
    examples: dict[str, Examples] = field(default_factory=dict)
    failed: bool = False


@dataclass
class Case:
    name: str
    #: (version, scratch dir, fresh cache dir) -> (argv, cwd, json paths to count examples in)
    argv: Callable[[Version, Path], tuple[list[str], Path, list[Path]]]
    cold: bool = False  #: run with an empty compilation cache (else a warmed, shared one)
    submissions: int = 1  #: how many the case grades: the table adds per-submission figures


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "bpverify", "bench")


def build_revision(rev: str) -> Version:
    """A virtualenv with bpverify at git revision ``rev`` (built once, then reused)."""
    found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet",
                            f"{rev}^{{commit}}"], capture_output=True, text=True)
    if found.returncode != 0:
        raise BenchError(f"--against {rev}: not a python executable, a virtualenv folder (with "
                         f"bin/python) or a git revision of {ROOT}")
    sha = found.stdout.strip()
    home = _cache_root() / sha[:12]
    python = home / "venv" / "bin" / "python"
    if not (home / "ok").exists():
        shutil.rmtree(home, ignore_errors=True)
        src = home / "src"
        src.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        print(f"building {rev} ({sha[:12]}) into {home} ...", file=sys.stderr)
        for step in ([sys.executable, "-m", "venv", str(home / "venv")],
                     [str(python), "-m", "pip", "install", "-q", f"{src}[test]"]):
            if subprocess.run(step, check=False).returncode != 0:
                raise BenchError(f"--against {rev}: building it failed at `{' '.join(step)}` "
                                 f"(its output is above); {home} is left for a look")
        (home / "ok").write_text(sha)
    return Version(label=rev, python=str(python))


def resolve_version(spec: str) -> Version:
    """A python executable (or a venv folder holding bin/python), else a git revision."""
    path = Path(spec)
    if path.is_dir() and (path / "bin" / "python").exists():
        return Version(label=spec, python=str(path / "bin" / "python"))
    if path.is_file():
        return Version(label=spec, python=str(path))
    return build_revision(spec)


def _grade(version: Version, scratch: Path, *args: str) -> tuple[list[str], Path, list[Path]]:
    out = scratch / "result.json"
    return ([version.python, "-m", "bpverify", "grade", *args, "--json", str(out)], scratch,
            [out])


def _batch(version: Version, scratch: Path, n: int) -> tuple[list[str], Path, list[Path]]:
    subs = scratch / "class"
    if not subs.exists():
        for i in range(n):
            shutil.copytree(REFERENCE, subs / f"student{i:03d}" / "reference")
    paths = [str(subs / f"student{i:03d}" / "reference") for i in range(n)]
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    argv = [version.python, "-m", "bpverify", "grade", *paths, "--jobs", "2", "--out", str(out),
            "--json", "bpverify.json"]
    return argv, scratch, [out]


def _pytest(version: Version, scratch: Path) -> tuple[list[str], Path, list[Path]]:
    # A copy of the reference, and an empty ini file: given a path inside this checkout,
    # pytest would take the checkout for its rootdir and its pyproject's pythonpath would put
    # this checkout's bpverify in front of the version under test.
    sub = scratch / "plugin" / "reference"
    if not sub.exists():
        shutil.copytree(REFERENCE, sub)
    ini = scratch / "plugin" / "pytest.ini"
    ini.write_text("[pytest]\n")
    return ([version.python, "-m", "pytest", "-q", "-c", str(ini), "--rootdir", str(ini.parent),
             "-p", "no:cacheprovider", "-p", "no:xdist", "--bpverify-submission", str(sub)],
            scratch, [])


def _cs231n_target() -> Path:
    folders = sorted(p for p in CS231N_FOLDERS.iterdir() if p.is_dir()) \
        if CS231N_FOLDERS.is_dir() else []
    return folders[-1] if folders else CS231N


#: A complete assignment 2 folder (every A2 function, ThreeLayerConvNet with the naive
#: convolution's four loops): issue 20 asks for it graded in under 60 s with the dev profile.
A2_FOLDER = CS231N_FOLDERS / "2023_assignment2_correct_keywords"


def cases(batch: int, class_size: int = 40, older: tuple[str, list[str]] | None = None,
          ) -> list[Case]:
    """The cases; ``older``: the other version's label and its default rubric's items, for
    the class of N restricted to them (class_bench.py)."""
    ref = str(REFERENCE)
    classes = [Case(f"class of {class_size}, each version's default rubric",
                    lambda v, d: class_argv(v.python, d, REFERENCE, class_size, None),
                    submissions=class_size)]
    if older is not None:
        label, items = older
        classes.append(Case(f"class of {class_size}, {label}'s {len(items)} items (--only)",
                            lambda v, d: class_argv(v.python, d, REFERENCE, class_size, items),
                            submissions=class_size))
    return [*classes,
        Case("grade reference (isolated, dev, warm cache)", lambda v, d: _grade(v, d, ref)),
        Case("  first run, cold cache", lambda v, d: _grade(v, d, ref), cold=True),
        Case("grade reference --in-process", lambda v, d: _grade(v, d, ref, "--in-process")),
        Case(f"cs231n folder ({_cs231n_target().name}) --rubric cs231n",
             lambda v, d: _grade(v, d, str(_cs231n_target()), "--rubric", "cs231n")),
        Case(f"assignment 2 folder ({A2_FOLDER.name}) --rubric cs231n --profile dev",
             lambda v, d: _grade(v, d, str(A2_FOLDER), "--rubric", "cs231n", "--profile",
                                 "dev")),
        Case(PYTEST_CASE, _pytest),
        Case(f"{batch} submissions, --jobs 2", lambda v, d: _batch(v, d, batch)),
    ]


@dataclass(frozen=True)
class Examples:
    """One check's examples in one run, from the JSON results."""

    run: int  #: ``examples_run``: every example the check saw, ``assume``-rejected ones too
    valid: int | None  #: run less ``examples_rejected`` (None: a version that did not count them)
    cap: int  #: the profile's ``max_examples``: Hypothesis never runs more valid examples


def _examples(paths: list[Path]) -> dict[str, Examples]:
    counts: dict[str, Examples] = {}
    # A batch writes one file per submission (out/<folder>/bpverify.json), in folders that
    # versions name differently: the n-th file in name order stands for the n-th submission.
    files = [(f, f"submission {n + 1}") for p in paths if p.is_dir()
             for n, f in enumerate(sorted(p.rglob("bpverify.json")))]
    files += [(p, "") for p in paths if not p.is_dir()]
    for p, label in files:
        if not p.exists():
            continue
        data = json.loads(p.read_text())
        if not isinstance(data, dict) or "items" not in data:
            continue
        cap = PROFILE_EXAMPLES.get(str(data.get("profile")), 0)
        for item in data.get("items", ()):
            for check in item.get("checks", ()):
                key = f"{label} / {item['name']} / {check['name']}"
                run = int(check.get("examples_run", 0))
                rejected = check.get("examples_rejected")
                valid = None if rejected is None else run - int(rejected)
                counts[key] = Examples(run, valid, cap)
    return counts


def _valid_total(ex: dict[str, Examples]) -> str:
    if not ex:
        return "-"
    if all(e.valid is not None for e in ex.values()):
        return str(sum(e.valid or 0 for e in ex.values()))
    return f"({sum(e.run for e in ex.values())} run)"


def _below(new: dict[str, Examples], old: dict[str, Examples]) -> list[str]:
    """Checks where the new version may have drawn fewer valid examples than the old one.

    The old count is bounded by what is known: its valid examples if it counted them, else at
    most its examples run and at most the profile's max_examples (Hypothesis stops there).
    """
    below = []
    for key, o in old.items():
        n = new.get(key)
        old_valid = o.valid if o.valid is not None else min(o.run, o.cap or o.run)
        new_valid = (n.valid if n.valid is not None else n.run) if n else 0
        if new_valid < old_valid:
            below.append(key)
    return below


def run_once(case: Case, version: Version, scratch: Path, warm_cache: Path) -> Run:
    scratch.mkdir(parents=True, exist_ok=True)
    argv, cwd, outputs = case.argv(version, scratch)
    for p in outputs:
        p.unlink(missing_ok=True)
    env = dict(os.environ)
    if case.cold:
        cold = Path(tempfile.mkdtemp(prefix="bpverify-cold-cache-"))
        env[CACHE_ENV] = str(cold)
    else:
        env[CACHE_ENV] = str(warm_cache)
    start = time.perf_counter()
    _cpu_of_children()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = PeakRSS(proc.pid)
        proc.wait()
        peak_mb = peak.stop()
        wall = time.perf_counter() - start
        cpu = _cpu_of_children() + peak.namespaced_cpu
        log.seek(0)
        out = log.read()
    if case.cold:
        shutil.rmtree(env[CACHE_ENV], ignore_errors=True)
    # pytest exits 1 when a test failed; "passed" in its summary says it ran at all.
    ran = proc.returncode in (0, 1) and (case.name != PYTEST_CASE or b" passed" in out)
    if not ran:
        tail = out.decode(errors="replace")[-1500:]
        print(f"{case.name} with {version.label} failed ({proc.returncode}):\n{tail}",
              file=sys.stderr)
        return Run(wall=wall, cpu=cpu, peak_mb=peak_mb, failed=True)
    return Run(wall=wall, cpu=cpu, peak_mb=peak_mb, examples=_examples(outputs))


_LAST_CHILDREN = [0.0]


def _cpu_of_children() -> float:
    """CPU time of the children reaped since the last call (the run just finished)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    spent, _LAST_CHILDREN[0] = total - _LAST_CHILDREN[0], total
    return spent


def _fill_cache(version: Version, cache: Path) -> None:
    """The warm cases run on a compilation cache a first run already filled (untimed)."""
    cache.mkdir(parents=True)
    subprocess.run([version.python, "-m", "bpverify", "grade", str(REFERENCE), "--in-process",
                    "--examples", "5"], env={**os.environ, CACHE_ENV: str(cache)},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REV|PYTHON",
                        help="also run this version: a git revision, a python executable or a "
                        "virtualenv folder")
    parser.add_argument("--rounds", type=_positive, default=2,
                        help="runs of each case per version")
    parser.add_argument("--batch", type=_positive, default=100,
                        help="submissions in the batch case")
    parser.add_argument("--only", action="append", metavar="WORDS",
                        help="run only the cases whose name contains WORDS (repeatable)")
    parser.add_argument("--class-size", type=_positive, default=40, metavar="N",
                        help="submissions in the class-of-N cases (default 40)")
    parser.add_argument("--project", type=_positive, default=500, metavar="N",
                        help="the class size the class-of-N figures are projected to")
    parser.add_argument("--items-of", metavar="REV|PYTHON",
                        help="give the class cases this version's default rubric's items "
                        "(as --against does) without running it: a class of 500 measured, "
                        "not projected")
    args = parser.parse_args(argv)

    new = Version(label="this checkout", python=sys.executable)
    try:
        versions = [new] + ([resolve_version(args.against)] if args.against else [])
    except BenchError as exc:
        parser.error(str(exc))
    older = None
    try:
        items_of = versions[1] if len(versions) == 2 else (
            resolve_version(args.items_of) if args.items_of else None)
    except BenchError as exc:
        parser.error(str(exc))
    if items_of is not None:
        with tempfile.TemporaryDirectory(prefix="bpverify-bench-") as tmp:
            older = (items_of.label, rubric_items(items_of.python, Path(tmp)))
    every = cases(args.batch, args.class_size, older)
    chosen = [c for c in every if not args.only or any(w in c.name for w in args.only)]
    if not chosen:
        parser.error(f"--only {' '.join(args.only)}: no case's name contains that; the cases "
                     f"are: {'; '.join(c.name.strip() for c in every)}")
    _cpu_of_children()
    started = _machine()
    results: dict[tuple[str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="bpverify-bench-") as tmp:
        root = Path(tmp)
        for case in chosen:
            for r in range(args.rounds):
                for v_index, version in enumerate(versions):  # interleaved: A B A B
                    warm = root / f"cache-{v_index}"
                    if not warm.exists():
                        _fill_cache(version, warm)
                    run = run_once(case, version, root / f"v{v_index}", warm)
                    results.setdefault((case.name, version.label), []).append(run)
                    print(f"{case.name} [{version.label}] round {r + 1}: {run.wall:.2f} s wall, "
                          f"{run.cpu:.2f} s CPU, {_valid_total(run.examples)} valid examples, "
                          f"peak {run.peak_mb:.0f} MB",
                          file=sys.stderr)
    print(f"measured: {started}; finished with load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    _table(chosen, versions, results)
    _per_submission(chosen, versions, results, args.project)
    return 0


def _table(chosen: list[Case], versions: list[Version],
           results: dict[tuple[str, str], list[Run]]) -> None:
    head = ["case"]
    for v in versions:
        head += [f"{v.label} wall s", f"{v.label} CPU s", f"{v.label} examples",
                 f"{v.label} peak MB"]
    if len(versions) == 2:
        head += ["wall new/old", "CPU new/old", "checks with fewer valid examples"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for case in chosen:
        row = [case.name.strip()]
        med: list[tuple[float, float, dict[str, Examples]]] = []
        for v in versions:
            runs = [r for r in results[(case.name, v.label)] if not r.failed]
            if not runs:
                row += ["failed", "failed", "-", "-"]
                med.append((math.nan, math.nan, {}))
                continue
            wall = statistics.median(r.wall for r in runs)
            cpu = statistics.median(r.cpu for r in runs)
            ex = runs[-1].examples
            med.append((wall, cpu, ex))
            peak = max(r.peak_mb for r in runs)
            row += [f"{wall:.2f}", f"{cpu:.2f}", _valid_total(ex), f"{peak:.0f}"]
        if len(versions) == 2:
            (wn, cn, en), (wo, co, eo) = med
            below = _below(en, eo)
            if below:
                print(f"{case.name.strip()}: fewer valid examples than {versions[1].label} in "
                      f"{', '.join(below)}", file=sys.stderr)
            row += [f"{wn / wo:.2f}", f"{cn / co:.2f}",
                    (f"{len(below)} of {len(eo)}" if eo else "-")]
        print("| " + " | ".join(row) + " |")


def _per_submission(chosen: list[Case], versions: list[Version],
                    results: dict[tuple[str, str], list[Run]], project: int) -> None:
    """The class cases per submission, and a class of ``project`` projected linearly from them
    (the start-up each run pays once is spread over more submissions, so this errs high)."""
    classes = [c for c in chosen if c.submissions > 1]
    if not classes:
        return
    print(f"\n| case | version | wall s per submission | CPU s per submission | "
          f"projected wall for {project} | projected CPU for {project} | peak MB |")
    print("|---|---|---|---|---|---|---|")
    for case in classes:
        for v in versions:
            runs = [r for r in results[(case.name, v.label)] if not r.failed]
            if not runs:
                continue
            n = case.submissions
            wall = statistics.median(r.wall for r in runs) / n
            cpu = statistics.median(r.cpu for r in runs) / n
            print(f"| {case.name.strip()} | {v.label} | {wall:.2f} | {cpu:.2f} | "
                  f"{wall * project / 60:.1f} min | {cpu * project / 60:.1f} min | "
                  f"{max(r.peak_mb for r in runs):.0f} |")


def _machine() -> str:
    """Where and when: for the README next to the table."""
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores "
            f"({cpu}), Python {platform.python_version()}, load average {load}")


if __name__ == "__main__":
    raise SystemExit(main())
