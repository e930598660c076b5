"""`lightpipe verify`: is every planned video complete, with sizes and sha256 as recorded?"""

from __future__ import annotations

from lightpipe.datamodule.layout import read_dataset_file
from lightpipe.datamodule.output_dir import expected_identity, layout_for
from lightpipe.datamodule.sampler import contiguous_block
from lightpipe.errors import LightpipeError
from lightpipe.plan_command import config_parser, parse_config, tasks_option

PROBLEMS = ("missing", "failed", "corrupt")


def run_verify(args: list[str]) -> int:
    parser = config_parser("lightpipe verify", "Check that every planned video is complete.")
    tasks_option(parser)
    namespace, project, settings = parse_config(parser, args)
    tasks = namespace.tasks or 1
    layout = layout_for(settings)
    try:
        found = read_dataset_file(layout.root)
    except ValueError as exc:
        raise LightpipeError(str(exc)) from None
    if found is None:
        print(f"{layout.root}: no dataset.json; nothing generated yet "
              f"({settings.num_videos} videos missing)")
        return 1
    if found.get("config") != expected_identity(project, settings):
        raise LightpipeError(f"{layout.root}/dataset.json was made with another configuration; "
                             "verify with the config that generated it.")
    by_status: dict[str, list[int]] = {status: [] for status in ("complete", *PROBLEMS)}
    for index in range(settings.num_videos):
        by_status[layout.status(index)].append(index)
    complete = len(by_status["complete"])
    print(f"{layout.root}: {complete}/{settings.num_videos} videos complete")
    owners = [contiguous_block(settings.num_videos, rank, tasks) for rank in range(tasks)]
    for status in PROBLEMS:
        indices = by_status[status]
        if not indices:
            continue
        print(f"  {status}: {len(indices)} [{layout.describe(indices)}]")
        for rank, block in enumerate(owners):
            mine = [i for i in indices if i in block]
            if mine and tasks > 1:
                print(f"    task {rank}/{tasks}: {layout.describe(mine)}")
        if status == "failed":
            print(f"    tracebacks: {layout.root / 'failures'}/NNNN.txt")
    if complete < settings.num_videos:
        print("  rerun the same `lightpipe predict` to render exactly these videos")
        return 1
    return 0
