"""What one call into the isolated worker costs: the round trip of a small gate scenario.

    python benchmarks/worker_bench.py [--calls 2000]

Prints the mean and median seconds per call over a persistent worker (the reference's
MultiplyGate on 3x4 arrays).  Run it on a quiet machine: under load the figure measures the
load.  tests/test_isolation.py asserts only that one worker answers every call; the cost is
this benchmark's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from bpverify.submission.worker import WorkerExecutor

REFERENCE = Path(__file__).resolve().parent.parent / "reference"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls to time (default 2000)")
    args = parser.parse_args()
    if args.calls < 1:
        parser.error(f"--calls is {args.calls}; expected a positive number")
    x = np.random.default_rng(0).random((3, 4))
    times = []
    with WorkerExecutor(REFERENCE) as ex:
        ex.call("gate", name="MultiplyGate", const=None, inputs=[x, x], dout=x)  # warm
        for _ in range(args.calls):
            start = time.perf_counter()
            ex.call("gate", name="MultiplyGate", const=None, inputs=[x, x], dout=x)
            times.append(time.perf_counter() - start)
    print(f"{args.calls} calls: mean {statistics.fmean(times) * 1e3:.3f} ms, "
          f"median {statistics.median(times) * 1e3:.3f} ms per call "
          f"(sandbox: {ex.sandbox})")


if __name__ == "__main__":
    main()
