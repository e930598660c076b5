"""`lightpipe plan`: the split and each task's block of videos, without rendering anything."""

from __future__ import annotations

import json

from lightpipe.commands.parsing import check_count, config_parser, parse_config, tasks_option
from lightpipe.config.settings import ProjectSettings, Settings
from lightpipe.dataset.identity import dataset_identity, run_layout
from lightpipe.dataset.index import Match, inspect_dataset
from lightpipe.dataset.layout import Layout
from lightpipe.dataset.output_dir import check_output_dir, grown_from
from lightpipe.dataset.writer_lock import describe, live_holder
from lightpipe.errors import OutputDirError
from lightpipe.planning.assignment import assign_tasks
from lightpipe.planning.planner import asset_pools, plan_video


def run_plan(args: list[str]) -> int:
    parser = config_parser("lightpipe plan", "Print the split and the work of each task.")
    tasks_option(parser)
    parser.add_argument("--show-assets", action="store_true", help="list each video's assets")
    parser.add_argument("--show-specs", action="store_true", help="print each video's full spec")
    namespace, project, settings = parse_config(parser, args)
    check_count("tasks", namespace.tasks)
    tasks = namespace.tasks or _tasks_from_trainer(namespace.trainer)
    layout = Layout.for_settings(settings)
    pending, origin, refused = _pending(layout, project, settings)
    holder = live_holder(settings.output_dir)
    if holder is not None:  # predict would be refused by the lock (or wait, with lock_wait)
        origin += (f"; being written now by another run ({describe(holder)}): predict waits "
                   "for it with --settings.lock_wait SECONDS, else is refused")
    print(format_plan(project, settings, pending, origin, tasks))
    if namespace.show_specs:
        identity = dataset_identity(project, settings)["settings"]
        ranges = {key: identity[key] for key in ("scene", "camera", "lighting", "materials",
                                                   "assets", "render", "outputs")}
        print("ranges: " + json.dumps(ranges, sort_keys=True))
    if namespace.show_assets or namespace.show_specs:
        pools = asset_pools(project.seed, settings)
        for index in range(settings.num_videos):
            spec = plan_video(project.seed, settings, index, pools)
            if namespace.show_specs:
                print(json.dumps(spec.to_dict(), sort_keys=True))
            else:
                objects = ", ".join(f"{o.asset_id} ({o.material_id})" for o in spec.objects)
                height = spec.ground.capture_height
                dome = "" if height is None else f" (environment ground from {height:.2f} m)"
                print(f"{layout.stem(index)} {spec.split:5s} ground {spec.ground.material_id}"
                      f"{dome}; objects {objects}")
    return 1 if refused else 0


def format_plan(project: ProjectSettings, settings: Settings, pending: list[int], origin: str,
                tasks: int) -> str:
    layout = Layout.for_settings(settings)
    num_train, total = settings.num_train, settings.num_videos
    pools = asset_pools(project.seed, settings)
    lines = [
        f"dataset {project.name!r}: seed {project.seed}, {total} videos, "
        f"{settings.video.width}x{settings.video.height}, {settings.video.num_frames} frames "
        f"at {settings.video.fps} fps",
        f"  train: {num_train} videos  {layout.describe(layout.split_indices('train'))}",
        f"  val:   {total - num_train} videos  {layout.describe(layout.split_indices('val'))}"
        + ("  (interleaved: an index's split never depends on num_videos)"
           if settings.dataset_split.rule == "interleaved" else ""),
        "  assets: " + ("disjoint" if settings.dataset_split.ensure_disjoint_assets else "shared")
        + "".join(f"; {split} {len(p.objects)} objects, {len(p.materials)} materials"
                  for split, p in pools.items()),
        f"  pending: {len(pending)} of {total} ({origin})",
        f"tasks: {tasks}",
    ]
    for rank, block in enumerate(assign_tasks(pending, tasks)):
        lines.append(f"  task {rank}: {layout.describe(block)} ({len(block)} videos)")
    return "\n".join(lines)


def _pending(layout: Layout, project: ProjectSettings, settings: Settings
             ) -> tuple[list[int], str, bool]:
    """(pending indices, where they come from, whether predict would refuse the directory), by
    the very checks predict makes, so the two never disagree about what `output_dir` holds."""
    where = repr(str(layout.root))
    try:
        check_output_dir(project, settings)
    except OutputDirError as exc:
        reason = str(exc).split("\n")[0]
        return (list(range(settings.num_videos)),
                f"predict refuses {where}: {reason}; see `lightpipe predict` for what is allowed",
                True)
    if settings.overwrite:
        return (list(range(settings.num_videos)),
                f"--settings.overwrite true: predict deletes what {where} holds first", False)
    found = inspect_dataset(layout.root, dataset_identity(project, settings))
    grown = grown_from(found, project, settings) if found.match is Match.OTHER else None
    if found.match is not Match.SAME and grown is None:
        return list(range(settings.num_videos)), f"nothing generated in {where} yet", False
    pending = run_layout(project, settings).pending(hashes=False)  # what predict finds
    growing = f"; grows the dataset from {grown} videos" if grown is not None else ""
    return pending, f"{settings.num_videos - len(pending)} complete in {where}{growing}", False


def _tasks_from_trainer(trainer: dict) -> int:
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1)
    if isinstance(devices, list):
        devices = len(devices)
    if not isinstance(devices, int) or devices < 1:
        devices = 1
    return devices * (nodes if isinstance(nodes, int) and nodes > 0 else 1)
