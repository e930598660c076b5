"""`lightpipe verify`: is every planned video complete, with sizes and sha256 as recorded?"""

from __future__ import annotations

from lightpipe.commands.parsing import config_parser, parse_config, tasks_option
from lightpipe.dataset.identity import dataset_identity
from lightpipe.dataset.index import Match, inspect_dataset
from lightpipe.dataset.layout import FAILURES_DIR, Layout
from lightpipe.dataset.meta import VideoStatus
from lightpipe.errors import LightpipeError
from lightpipe.planning.assignment import contiguous_block

PROBLEMS = (VideoStatus.MISSING, VideoStatus.FAILED, VideoStatus.CORRUPT)


def run_verify(args: list[str]) -> int:
    parser = config_parser("lightpipe verify", "Check that every planned video is complete.")
    tasks_option(parser)
    namespace, project, settings = parse_config(parser, args)
    tasks = namespace.tasks or 1
    layout = Layout.for_settings(settings)
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
    by_status: dict[VideoStatus, list[int]] = {status: [] for status in VideoStatus}
    for index in range(settings.num_videos):
        by_status[layout.check(index, hashes=True).status].append(index)
    complete = len(by_status[VideoStatus.COMPLETE])
    print(f"{layout.root}: {complete}/{settings.num_videos} videos complete")
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
        if status is VideoStatus.FAILED:
            print(f"    tracebacks: {layout.root / FAILURES_DIR}/NNNN.txt")
    if complete < settings.num_videos:
        print("  rerun the same `lightpipe predict` to render exactly these videos")
        return 1
    return 0
