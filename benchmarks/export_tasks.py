"""Export time of VACE's control tasks: every task a dataset's ground truth allows, then a second
run with nothing to do (the issue-24 goals: < 10 min for the default 80 videos on 2 cores,
< 10 s for the second run).

    python benchmarks/export_tasks.py [--videos 80] [--workers 2] [--root DIR]
                                      [--outputs color,depth]
    python benchmarks/export_tasks.py --outputs ALL      # every output: all 15 tasks

Generates the default config's dataset (`configs/configv1.yaml`, with `--outputs` if given)
into DIR (default: a folder under the system's temp dir, kept, so a second benchmark run reuses
it; `predict` resumes what is there), then times `lightpipe export --format diffsynth` with a
`--task` for each task the dataset's outputs allow (existing task files are removed first).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lightpipe.dataset.outputs import REGISTRY
from lightpipe.dataset.vace.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=80)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=str, default=None)
    parser.add_argument("--outputs", type=str, default="color,depth",
                        help="the dataset's settings.outputs (default: the default config's)")
    args = parser.parse_args()
    outputs = list(REGISTRY) if args.outputs == "ALL" else args.outputs.split(",")
    outputs = [o for o in outputs if o != "depth_vis"]  # comes with depth
    root = Path(args.root or Path(tempfile.gettempdir()) /
                f"lightpipe-export-bench-{args.videos}-{'-'.join(outputs)}")
    lightpipe = str(Path(sys.executable).with_name("lightpipe"))
    started = time.perf_counter()
    subprocess.run([lightpipe, "predict", "--config", str(REPO / "configs/configv1.yaml"),
                    "--settings.num_videos", str(args.videos), "--settings.output_dir", str(root),
                    "--settings.outputs", "[" + ",".join(outputs) + "]",
                    "--trainer.accelerator", "cpu", "--trainer.devices", "1",
                    "--trainer.enable_progress_bar", "false"], check=True, capture_output=True)
    print(f"dataset: {args.videos} videos at {root} ({time.perf_counter() - started:.0f} s to "
          "generate or check)")
    known = json.loads((root / "dataset.json").read_text())["config"]["settings"]["outputs"]
    tasks = [name for name, task in TASKS.items() if all(n in known for n in task.needs)]
    shutil.rmtree(root / "vace", ignore_errors=True)
    command = [lightpipe, "export", "--root", str(root), "--format", "diffsynth",
               "--workers", str(args.workers), *[a for t in tasks for a in ("--task", t)]]
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    files = [f for f in (root / "vace").rglob("*") if f.is_file()]
    size = sum(f.stat().st_size for f in files)
    print(f"tasks ({len(tasks)}): {', '.join(tasks)}")
    print(f"export of {len(tasks)} tasks x {args.videos} videos with --workers {args.workers}: "
          f"{timings[0]:.1f} s ({timings[0] / 60:.1f} min; goal < 10 min at 80 videos; "
          f"{timings[0] / args.videos:.2f} s a video), {len(files)} files, "
          f"{size / 2**20:.0f} MiB")
    print(f"second run, nothing to do: {timings[1]:.1f} s (goal < 10 s)")


if __name__ == "__main__":
    main()
