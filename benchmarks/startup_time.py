"""Start-up: wall time from launch to the first rendered frame of `lightpipe predict`.

    python benchmarks/startup_time.py [--repeat 3]

Times, through the real command line, one invocation at a time (median of `--repeat`):
  - `lightpipe --help`;
  - `lightpipe predict` of the default config cut to 1 video of 1 frame (832x480, a fresh
    output directory): launch to exit, so imports, preflight, planning, Lightning's set-up,
    scene building, the first frame's render, its encoding and the teardown. The first rendered
    frame comes before all of that ends, so this is an upper bound on the time to it; the issue's
    goal is 8 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIGHTPIPE = str(Path(sys.executable).with_name("lightpipe"))


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    helps = [timed([LIGHTPIPE, "--help"]) for _ in range(args.repeat)]
    firsts = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            firsts.append(timed([
                LIGHTPIPE, "predict", "--config", "configs/configv1.yaml",
                "--settings.num_videos", "1", "--settings.video.num_frames", "1",
                "--settings.output_dir", str(Path(tmp) / "out"), "--trainer.accelerator", "cpu",
                "--trainer.devices", "1", "--trainer.enable_progress_bar", "false"]))
    print(f"lightpipe --help:                         median {statistics.median(helps):5.2f} s")
    print(f"predict, 1 video x 1 frame, launch->exit: median {statistics.median(firsts):5.2f} s "
          f"(max {max(firsts):.2f} s; first rendered frame before that; goal <= 8 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
