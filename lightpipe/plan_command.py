"""`lightpipe plan`: the split and each task's block of videos, without rendering anything."""

from __future__ import annotations

import json
from pathlib import Path

from jsonargparse import ActionConfigFile, ArgumentParser

from lightpipe.datamodule.layout import Layout, read_dataset_file
from lightpipe.datamodule.output_dir import expected_identity, layout_for
from lightpipe.datamodule.planner import asset_pools, plan_video
from lightpipe.datamodule.sampler import assign_tasks
from lightpipe.datamodule.settings import (
    ProjectSettings,
    Settings,
    dataset_identity,
    settings_from_mapping,
    validate_settings,
)
from lightpipe.errors import ConfigError


def config_parser(prog: str, description: str) -> ArgumentParser:
    """A parser for the `project`/`settings` part of a config; other top-level keys are ignored."""
    parser = ArgumentParser(prog=prog, description=description, allow_abbrev=False)
    parser.add_argument("--config", action=ActionConfigFile, help="a Lightpipe YAML config")
    parser.add_class_arguments(ProjectSettings, "project")
    parser.add_class_arguments(Settings, "settings")
    for ignored in ("trainer", "model", "data"):
        parser.add_argument(f"--{ignored}", type=dict, default={}, help="(ignored here)")
    parser.add_argument("--seed_everything", type=object, default=None, help="(ignored here)")
    return parser


def parse_config(parser: ArgumentParser, args: list[str]):
    """Parse and validate; returns (namespace, project, settings)."""
    namespace = parser.parse_args(args)
    project = settings_from_mapping(ProjectSettings, namespace.project.as_dict())
    settings = settings_from_mapping(Settings, namespace.settings.as_dict())
    validate_settings(project, settings)
    return namespace, project, settings


def tasks_option(parser: ArgumentParser) -> None:
    parser.add_argument("--tasks", type=int, default=None,
                        help="number of tasks (default: trainer.num_nodes x trainer.devices, else 1)")


def run_plan(args: list[str]) -> int:
    parser = config_parser("lightpipe plan", "Print the split and the work of each task.")
    tasks_option(parser)
    parser.add_argument("--show-assets", action="store_true", help="list each video's assets")
    parser.add_argument("--show-specs", action="store_true", help="print each video's full spec")
    namespace, project, settings = parse_config(parser, args)
    tasks = namespace.tasks or _tasks_from_trainer(namespace.trainer)
    if tasks < 1:
        raise ConfigError("--tasks", tasks, "an integer >= 1")
    layout = layout_for(settings)
    pending, origin = _pending(layout, project, settings)
    print(format_plan(project, settings, pending, origin, tasks))
    if namespace.show_specs:
        identity = dataset_identity(project, settings)["settings"]
        ranges = {key: identity[key] for key in ("scene", "camera", "lighting", "outputs")}
        print("ranges: " + json.dumps(ranges, sort_keys=True))
    if namespace.show_assets or namespace.show_specs:
        pools = asset_pools(project.seed, settings)
        for index in range(settings.num_videos):
            spec = plan_video(project.seed, settings, index, pools)
            if namespace.show_specs:
                print(json.dumps(spec.to_dict(), sort_keys=True))
            else:
                objects = ", ".join(f"{o.asset_id} ({o.material_id})" for o in spec.objects)
                print(f"{layout.stem(index)} {spec.split:5s} ground {spec.ground.material_id}; "
                      f"objects {objects}")
    return 0


def format_plan(project: ProjectSettings, settings: Settings, pending: list[int], origin: str,
                tasks: int) -> str:
    layout = layout_for(settings)
    num_train, total = settings.num_train, settings.num_videos
    pools = asset_pools(project.seed, settings)
    lines = [
        f"dataset {project.name!r}: seed {project.seed}, {total} videos, "
        f"{settings.video.width}x{settings.video.height}, {settings.video.num_frames} frames "
        f"at {settings.video.fps} fps",
        f"  train: {num_train} videos  {layout.describe(range(num_train))}",
        f"  val:   {total - num_train} videos  {layout.describe(range(num_train, total))}",
        "  assets: " + ("disjoint" if settings.dataset_split.ensure_disjoint_assets else "shared")
        + "".join(f"; {split} {len(p.objects)} objects, {len(p.materials)} materials"
                  for split, p in pools.items()),
        f"  pending: {len(pending)} of {total} ({origin})",
        f"tasks: {tasks}",
    ]
    for rank, block in enumerate(assign_tasks(pending, tasks)):
        lines.append(f"  task {rank}: {layout.describe(block)} ({len(block)} videos)")
    return "\n".join(lines)


def _pending(layout: Layout, project: ProjectSettings, settings: Settings) -> tuple[list[int], str]:
    root = Path(settings.output_dir)
    try:
        found = read_dataset_file(root)
    except ValueError:
        found = None
    if found is None or found.get("config") != expected_identity(project, settings):
        return list(range(settings.num_videos)), f"nothing of this dataset in {str(root)!r} yet"
    pending = layout.pending()
    return pending, f"{settings.num_videos - len(pending)} complete in {str(root)!r}"


def _tasks_from_trainer(trainer: dict) -> int:
    devices, nodes = trainer.get("devices", 1), trainer.get("num_nodes", 1)
    if isinstance(devices, list):
        devices = len(devices)
    if not isinstance(devices, int) or devices < 1:
        devices = 1
    return devices * (nodes if isinstance(nodes, int) and nodes > 0 else 1)
