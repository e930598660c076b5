"""Start-up at scale: planning, pending detection and `verify --quick` on fake 1k-100k datasets.

    python benchmarks/scale_sim.py [--sizes 1000 10000 100000] [--tasks 8] [--dir DIR] [--keep]

For each size N, a fake complete dataset of N videos is built: `dataset.json` as predict writes
it, one per-video JSON per video (a real one, written by `lightpipe predict` for an 81-frame
video, with its index, split, spec and file names replaced; the spec is planned for that
index), and its three video files as sparse files of realistic recorded sizes (832x480, 81
frames), so the file system holds 4 entries per video but almost no data. Then, measured in
one run (warm page cache: the JSONs were just written):

- planning: `plan_video` for every video on one core (predict plans each video lazily when it
  renders it, so this is spread over the run; shown for scale);
- pending detection as predict does it on start: each of `--tasks` tasks checks only its own
  block (JSONs and file sizes); "1 task" checks all N;
- `lightpipe plan --tasks T`, `lightpipe verify --quick` and a resuming `lightpipe predict`
  (nothing left to render) as subprocesses, wall time from launch to exit.

Goal (issue 12): under 30 s at 100k videos, growing linearly or better.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from lightpipe.config.settings import ProjectSettings, Settings, VideoSettings
from lightpipe.dataset.identity import run_layout
from lightpipe.dataset.layout import Layout
from lightpipe.dataset.output_dir import prepare_output_dir
from lightpipe.planning.assignment import contiguous_block
from lightpipe.planning.planner import asset_pools, plan_video

VIDEO = {"width": 64, "height": 64, "num_frames": 81, "fps": 16}  # the template's (81 frames)
# Recorded sizes of the sparse files: about what an 832x480, 81-frame video writes.
SIZES = {"color": 3_000_000, "depth_vis": 1_200_000, "depth": 12_000_000}
PROJECT = {"seed": 0, "name": "scale_sim"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--tasks", type=int, default=8, help="tasks sharing the pending check")
    parser.add_argument("--dir", help="where to build the fake datasets (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the fake datasets")
    args = parser.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="lightpipe-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    template = _template(base / "template")
    rows = []
    for size in args.sizes:
        print(f"building a fake dataset of {size} videos ...", flush=True)
        rows.append(_measure(base, template, size, args.tasks))
        if not args.keep:
            shutil.rmtree(base / str(size), ignore_errors=True)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    _print_table(rows, args.tasks)


def _template(out: Path) -> dict:
    """A real per-video JSON, written by `lightpipe predict` (one tiny 81-frame video)."""
    config = _config(out, num_videos=1)
    path = out.parent / "template.yaml"
    path.write_text(yaml.safe_dump(config))
    _run("predict", path)
    return json.loads((out / "train" / "0000.json").read_text())


def _config(out: Path, num_videos: int) -> dict:
    return {"project": dict(PROJECT),
            "settings": {"num_videos": num_videos, "output_dir": str(out), "video": dict(VIDEO)},
            "trainer": {"accelerator": "cpu", "devices": 1, "enable_progress_bar": False}}


def _measure(base: Path, template: dict, size: int, tasks: int) -> dict:
    root = base / str(size)
    config = _config(root, size)
    config_path = base / f"{size}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    project = ProjectSettings(**PROJECT)
    settings = Settings(num_videos=size, output_dir=str(root), video=VideoSettings(**VIDEO))
    row = {"videos": size}

    start = time.perf_counter()
    pools = asset_pools(project.seed, settings)
    specs = [plan_video(project.seed, settings, index, pools).to_dict() for index in range(size)]
    row["plan all (1 core)"] = time.perf_counter() - start

    start = time.perf_counter()
    prepare_output_dir(project, settings)
    layout = run_layout(project, settings)  # predict's check: identity hash included
    _build(layout, template, specs)
    row["build"] = time.perf_counter() - start

    start = time.perf_counter()
    pending = layout.pending(hashes=False)
    row["pending, 1 task"] = time.perf_counter() - start
    assert pending == [], f"the fake dataset is not complete: {pending[:5]}"
    start = time.perf_counter()
    layout.pending(contiguous_block(size, 0, tasks), hashes=False)
    row[f"pending, 1 of {tasks} tasks"] = time.perf_counter() - start

    row["lightpipe plan"] = _run("plan", config_path, "--tasks", str(tasks))
    row["verify --quick"] = _run("verify", config_path, "--quick")
    row["predict (resume)"] = _run("predict", config_path)
    return row


def _build(layout: Layout, template: dict, specs: list[dict]) -> None:
    """Per-video JSONs from the template, and sparse video files of the recorded sizes."""
    entries = {entry["modality"]: (name, entry) for name, entry in template["files"].items()}
    # The camera block (most of the bytes) is the same in every fake: serialized once, spliced
    # in; the text is what `write_json` writes (sorted keys, indent 2, final newline).
    camera = json.dumps(template["camera"], sort_keys=True, indent=2).replace("\n", "\n  ")
    for index, spec in enumerate(specs):
        stem = layout.stem(index)
        files = {}
        for modality, (name, entry) in entries.items():
            file = name.replace("0000", stem, 1)
            files[file] = {**entry, "bytes": SIZES.get(modality, entry["bytes"])}
            with open(layout.video_dir(index) / file, "wb") as handle:
                handle.truncate(files[file]["bytes"])
        meta = {**template, "index": index, "split": layout.split_of(index), "spec": spec,
                "files": files, "camera": "@camera@"}
        for key in ("depth", "segmentation", "normals"):  # blocks naming their file
            if isinstance(meta.get(key), dict) and "file" in meta[key]:
                meta[key] = {**meta[key], "file": meta[key]["file"].replace("0000", stem, 1)}
        text = json.dumps(meta, sort_keys=True, indent=2).replace('"@camera@"', camera, 1)
        layout.meta_file(index).write_text(text + "\n")


def _run(command: str, config: Path, *extra: str) -> float:
    """Wall seconds of `lightpipe COMMAND --config CONFIG ...`, launch to exit (must exit 0)."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "lightpipe.commands.dispatch", command,
                             "--config", str(config), *extra],
                            capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS":
                                                                  "ignore"})
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"lightpipe {command} failed ({result.returncode}):\n"
                         f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return seconds


def _print_table(rows: list[dict], tasks: int) -> None:
    columns = [key for key in rows[0] if key != "videos"]
    width = max(len(c) for c in columns) + 2
    print(f"\n{'seconds':<{width}}" + "".join(f"{row['videos']:>10}" for row in rows)
          + ("   growth (last/first per video)" if len(rows) > 1 else ""))
    for column in columns:
        line = f"{column:<{width}}" + "".join(f"{row[column]:>10.2f}" for row in rows)
        if len(rows) > 1:
            per_video = [row[column] / row["videos"] for row in rows]
            line += f"   {per_video[-1] / per_video[0]:.2f}x"
        print(line)
    largest = rows[-1]
    startup = largest[f"pending, 1 of {tasks} tasks"]
    print(f"\nat {largest['videos']} videos: a task of {tasks} finds its pending videos in "
          f"{startup:.2f} s; `verify --quick` takes {largest['verify --quick']:.1f} s and a "
          f"resuming predict {largest['predict (resume)']:.1f} s (goal: < 30 s)")
    print("(growth < 1x: fixed costs such as imports are spread over more videos)")


if __name__ == "__main__":
    main()
