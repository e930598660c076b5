"""Wall time of refusing bad input, through the real command line, one invocation at a time.

    python benchmarks/rejection_time.py [--repeat 1]

Runs every bad input of the front-door test table (tests/commands/test_front_door.py: predict,
plan, verify, preview, export, fit) sequentially, so each has the machine to itself, and prints
the median, 90th percentile and worst wall time per command and overall, from process start to
exit. The goal is a median under 1.5 s; each run must also exit 2.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "commands")]

from test_front_door import CASES, invocations  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each bad input")
    args = parser.parse_args()
    by_command: dict[str, list[float]] = defaultdict(list)
    slowest = (0.0, "")
    wrong = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for (command, case_args, _), (argv, _, _) in zip(CASES, invocations(base)):
            for _ in range(args.repeat):
                started = time.perf_counter()
                proc = subprocess.run(argv, cwd=base, capture_output=True, text=True)
                seconds = time.perf_counter() - started
                by_command[command].append(seconds)
                slowest = max(slowest, (seconds, f"{command} {' '.join(case_args)}"))
                if proc.returncode != 2:
                    wrong.append(f"{command} {' '.join(case_args)}: exit {proc.returncode}")
    every = [s for values in by_command.values() for s in values]
    print(f"{'command':<10} {'runs':>5} {'median s':>9} {'p90 s':>7} {'max s':>7}")
    for command, values in [*by_command.items(), ("all", every)]:
        print(f"{command:<10} {len(values):>5} {statistics.median(values):>9.2f} "
              f"{percentile(values, 0.9):>7.2f} {max(values):>7.2f}")
    print(f"slowest: {slowest[1]} ({slowest[0]:.2f} s)")
    median = statistics.median(every)
    print(f"median rejection time: {median:.2f} s over {len(every)} bad inputs "
          f"(goal < 1.5 s: {'met' if median < 1.5 else 'NOT met'})")
    for line in wrong:
        print(f"did not exit 2: {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
