"""`lightpipe verify`: is every planned video complete, with sizes and sha256 as recorded, and
is it the plan's video (its JSON's identity, spec and camera)?

A video found corrupt gets a failure record (`failures/NNNN.txt`, saying what is wrong), so
the next `lightpipe predict`, which reads only JSONs and file sizes, renders it again. Files in
the split folders and `failures/` that no planned video owns are listed, never deleted."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lightpipe.atomic_io import write_bytes
from lightpipe.commands.parsing import check_count, config_parser, parse_config, tasks_option
from lightpipe.commands.plan_check import plan_problem
from lightpipe.config.settings import ProjectSettings, Settings
from lightpipe.dataset.identity import dataset_identity, run_layout
from lightpipe.dataset.index import Match, inspect_dataset
from lightpipe.dataset.layout import FAILURES_DIR, FORMAT_VERSION, Layout
from lightpipe.dataset.meta import VideoCheck, VideoStatus
from lightpipe.dataset.writer_lock import describe, live_holder
from lightpipe.errors import LightpipeError
from lightpipe.planning.assignment import contiguous_block
from lightpipe.planning.planner import asset_pools, plan_video

PROBLEMS = (VideoStatus.MISSING, VideoStatus.FAILED, VideoStatus.CORRUPT)
DEFAULT_WORKERS = min(8, os.cpu_count() or 1)
MAX_STRAY_SHOWN = 10


def run_verify(args: list[str]) -> int:
    parser = config_parser("lightpipe verify", "Check that every planned video is complete.")
    tasks_option(parser)
    parser.add_argument("--quick", action="store_true",
                        help="check metadata, identity and file sizes only (what predict "
                             "checks): no sha256, no comparison with the plan")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="threads hashing files and planning videos in parallel")
    namespace, project, settings = parse_config(parser, args)
    check_count("tasks", namespace.tasks)
    check_count("workers", namespace.workers)
    tasks = namespace.tasks or 1
    layout = run_layout(project, settings)
    found = inspect_dataset(layout.root, dataset_identity(project, settings))
    if found.match is Match.ABSENT:
        print(f"{layout.root}: no dataset.json; nothing generated yet "
              f"({settings.num_videos} videos missing)")
        return 1
    if found.match is Match.UNREADABLE:
        raise LightpipeError(found.problem)
    if found.match is Match.OTHER:
        raise LightpipeError(f"{layout.root}/dataset.json was made with another configuration; "
                             "verify with the config that generated it.")
    version = found.info.get("format_version")
    if version != FORMAT_VERSION:  # its JSONs would all read as corrupt, and be recorded so
        raise LightpipeError(
            f"{layout.root}/dataset.json is format {version!r}; this Lightpipe checks format "
            f"{FORMAT_VERSION}.\nHINT: verify it with the Lightpipe version that wrote it "
            f"({found.info.get('lightpipe_version', 'unknown')}); the training loader reads it.")
    # Full: the whole JSON parsed, every file hashed, the spec and camera planned again and
    # compared; quick: predict's check (identity and sizes).
    check = layout.quick_check if namespace.quick else _against_plan(layout, project, settings)
    with ThreadPoolExecutor(namespace.workers) as pool:  # hashlib and file IO release the GIL
        checks = list(pool.map(check, range(settings.num_videos), chunksize=64))
    by_status: dict[VideoStatus, list[int]] = {status: [] for status in VideoStatus}
    for index, check in enumerate(checks):
        by_status[check.status].append(index)
    holder = live_holder(settings.output_dir)
    if holder is not None:  # its videos in progress read as missing or corrupt for now
        print(f"note: {layout.root} is being written now by another run ({describe(holder)}); "
              "this is a snapshot, and nothing is recorded in failures/ while it runs")
    recorded = [] if holder is not None else _record_corrupt(layout, checks)
    complete = len(by_status[VideoStatus.COMPLETE])
    what = "metadata, identity and sizes" if namespace.quick else "sha256, spec and camera"
    print(f"{layout.root}: {complete}/{settings.num_videos} videos complete ({what} checked)")
    owners = [contiguous_block(settings.num_videos, rank, tasks) for rank in range(tasks)]
    for status in PROBLEMS:
        indices = by_status[status]
        if not indices:
            continue
        print(f"  {status.value}: {len(indices)} [{layout.describe(indices)}]")
        for rank, block in enumerate(owners):
            mine = [i for i in indices if i in block]
            if mine and tasks > 1:
                print(f"    task {rank}/{tasks}: {layout.describe(mine)}")
        if status is VideoStatus.CORRUPT:
            for index in indices[:5]:
                print(f"    {layout.stem(index)}: {checks[index].problem}")
            if len(indices) > 5:
                print(f"    ... ({len(indices) - 5} more)")
        if status is VideoStatus.FAILED:
            print(f"    tracebacks: {layout.root / FAILURES_DIR}/NNNN.txt")
    stray = layout.stray_files()
    if stray:
        shown = ", ".join(stray[:MAX_STRAY_SHOWN])
        more = f", ... ({len(stray) - MAX_STRAY_SHOWN} more)" if len(stray) > MAX_STRAY_SHOWN else ""
        print(f"  stray: {len(stray)} [{shown}{more}] "
              "(no planned video owns them; left in place, the exit status ignores them)")
    if recorded:
        print(f"  recorded {len(recorded)} corrupt video(s) in {layout.root / FAILURES_DIR}/ "
              "for predict to redo")
    if complete < settings.num_videos:
        print("  rerun the same `lightpipe predict` to render exactly these videos")
        return 1
    return 0


def _against_plan(layout: Layout, project: ProjectSettings, settings: Settings
                  ) -> Callable[[int], VideoCheck]:
    """verify's full check of one video: `Layout.check` with sha256, then, when that passes,
    its spec and camera against the plan (cheap and pure, run in the pool with the hashing)."""
    pools = asset_pools(project.seed, settings)

    def check(index: int) -> VideoCheck:
        video = layout.check(index, hashes=True)
        if not video.complete:
            return video
        problem = plan_problem(video.meta, plan_video(project.seed, settings, index, pools))
        return video if problem is None else VideoCheck(VideoStatus.CORRUPT, problem=problem)

    return check


def _record_corrupt(layout: Layout, checks: list[VideoCheck]) -> list[int]:
    """Write a failure record for each corrupt video that has its JSON (one predict's stat-based
    resume would take as complete); returns their indices."""
    recorded = []
    for index, check in enumerate(checks):
        if check.status is not VideoStatus.CORRUPT or not layout.meta_file(index).exists():
            continue
        record = layout.failure_file(index)
        if record.exists():
            continue
        record.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(record, f"video {index}\ncorrupt (found by lightpipe verify): "
                            f"{check.problem}\n".encode())
        recorded.append(index)
    return recorded
