"""The "class of N" cases of grade_bench.py, and the peak memory of a run's process tree.

A class is N copies of the reference graded by one ``bpverify grade`` with ``--jobs 2`` (both
cores of the development machine; every version's default there), the way an instructor grades
a folder of submissions.  Two cases compare like with like across versions whose default
rubric differs (the curriculum's families were added after 0242ba7):

* under each version's own default rubric (the same copies; the newer version grades more items);
* restricted with ``--only`` to the items of the older version's default rubric (the same items
  in both: the fair comparison of speed).

The peak memory of a run is the largest sum, over one sample, of the resident set sizes of the
process and all its descendants (grader, pool processes, helpers, workers), sampled every
0.2 s: shared pages (numpy's and JAX's libraries) count once per process, so it is an upper
bound of what the run needs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

__all__ = ["PeakRSS", "class_argv", "rubric_items"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def class_argv(python: str, scratch: Path, reference: Path, n: int,
               only: list[str] | None) -> tuple[list[str], Path, list[Path]]:
    """``bpverify grade`` of ``n`` copies of ``reference`` with ``--jobs 2``, each result in
    ``out/<student>/bpverify.json``; ``only``: these items (``--only``) instead of the rubric's."""
    subs = scratch / f"class{n}"
    if not subs.exists():
        for i in range(n):
            shutil.copytree(reference, subs / f"student{i:03d}" / "reference",
                            ignore=shutil.ignore_patterns("__pycache__"))
    paths = [str(subs / f"student{i:03d}" / "reference") for i in range(n)]
    out = scratch / f"out{n}"
    shutil.rmtree(out, ignore_errors=True)
    argv = [python, "-m", "bpverify", "grade", *paths, "--jobs", "2", "--out", str(out),
            "--json", "bpverify.json"]
    for item in only or ():
        argv += ["--only", item]
    return argv, scratch, [out]


def rubric_items(python: str, cwd: Path) -> list[str]:
    """The items of the default rubric of the bpverify that ``python`` imports."""
    code = ("import json; from bpverify.grading.rubric import load_rubric; "
            "print(json.dumps(list(load_rubric('default').item_names)))")
    cwd.mkdir(parents=True, exist_ok=True)  # (not a checkout: its bpverify would come first)
    done = subprocess.run([python, "-c", code], cwd=cwd, capture_output=True, text=True,
                          check=True)
    items = json.loads(done.stdout)
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"{python}: expected a list of item names, got {done.stdout[:200]!r}")
    return items


class PeakRSS:
    """Samples a process and its descendants until :meth:`stop`: the largest sum of their
    resident memory, and the CPU time of the processes in a PID namespace (the sandboxed
    workers), which ``getrusage(RUSAGE_CHILDREN)`` never sees: their parent, the worker's outer
    process, is killed before it reaps them.  Each is counted as last sampled (it may have
    used up to one interval more)."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every = pid, every
        self.peak = 0  #: bytes
        self._namespaced: dict[tuple[int, int], float] = {}  #: (pid, start) -> CPU seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="peak-rss")
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._done.set()
        self._thread.join()
        return self.peak / 2**20

    @property
    def namespaced_cpu(self) -> float:
        """CPU seconds of the namespaced processes seen (call after :meth:`stop`)."""
        return sum(self._namespaced.values())

    def _run(self) -> None:
        while not self._done.wait(self.every):
            rss = 0
            for pid, stat in _tree(self.pid):
                rss += _rss(pid)
                if _namespaced(pid):  # utime + stime (fields 14, 15), by pid and start time
                    self._namespaced[(pid, int(stat[19]))] = (
                        int(stat[11]) + int(stat[12])) / _TICKS
            self.peak = max(self.peak, rss)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree(root: int) -> list[tuple[int, list[bytes]]]:
    """The pids of ``root`` and its descendants, each with its /proc stat fields after the
    command name (field 3 on)."""
    stats: dict[int, list[bytes]] = {}
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        if pid in stats:
            found.append((pid, stats[pid]))
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _namespaced(pid: int) -> bool:
    """Whether the process is in a PID namespace below ours (NSpid lists two pids or more)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"NSpid:"):
                    return len(line.split()) > 2
    except OSError:
        pass
    return False
