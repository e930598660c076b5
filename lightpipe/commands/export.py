"""`lightpipe export --format diffsynth`: metadata CSVs for DiffSynth-Studio's Wan2.1-VACE (the
depth task from the stored depth video); with `--task T`, VACE's control tasks drawn from the
ground truth (`vace_export`), for DiffSynth-Studio or VACE (`--format vace`)."""

from __future__ import annotations

import csv
import io
import shlex
import sys
from collections import Counter
from pathlib import Path

from lightpipe.assets.builtin_ids import asset_family
from lightpipe.assets.categories import object_category
from lightpipe.atomic_io import write_bytes
from lightpipe.commands.parsing import check_count, config_parser, parse_config
from lightpipe.commands.preflight import config_paths
from lightpipe.commands.vace_export import check_tasks, diffsynth_arguments, export_tasks
from lightpipe.dataset.identity import dataset_identity
from lightpipe.dataset.index import DatasetIndex, Match, VideoRecord, inspect_dataset
from lightpipe.dataset.outputs import REGISTRY
from lightpipe.dataset.vace.tasks import TASKS
from lightpipe.errors import ConfigError, LightpipeError
from lightpipe.planning.specs import CameraSpec, Trajectory, VideoSpec

FORMATS = ("diffsynth", "vace")
# (column, file modality) from the output registry, then the caption.
FILE_COLUMNS = tuple((column, modality) for output in REGISTRY.values()
                     for modality, column in output.diffsynth_columns.items())
COLUMNS = (*(column for column, _ in FILE_COLUMNS), "prompt")
# Wan2.1 works on 4n+1 frames (its VAE compresses time 4x after the first frame) and on sizes that
# are multiples of 16 (8x VAE downsampling, 2x2 patches); it was trained at 832x480 / 81 frames.
WAN_FRAME_MULTIPLE, WAN_SIZE_MULTIPLE = 4, 16

_NOUNS = {"box": "boxes", "torus": "tori", "twisted": "twisted shapes",
          "superquadric": "superquadrics"}
_SINGULAR = {"twisted": "twisted shape"}
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def run_export(args: list[str]) -> int:
    parser = config_parser("lightpipe export", "Write training metadata for another trainer.")
    parser.add_argument("--format", type=str, required=True, help=f"one of: {', '.join(FORMATS)}")
    parser.add_argument("--root", type=str, default=None,
                        help="the dataset directory (default with --config: its "
                             "settings.output_dir)")
    parser.add_argument("--task", type=str, action="append", default=None,
                        help="a VACE control task to draw from the ground truth (repeatable): "
                             "one of " + ", ".join(TASKS))
    parser.add_argument("--workers", type=int, default=1,
                        help="processes writing the task videos (default 1)")
    namespace, project, settings = parse_config(parser, args)
    if namespace.format not in FORMATS:
        raise ConfigError("--format", namespace.format, ", ".join(FORMATS))
    check_count("workers", namespace.workers)
    workers = namespace.workers
    if namespace.format == "vace" and not namespace.task:
        raise ConfigError("--task", None, "at least one task with --format vace, one of: "
                          + ", ".join(TASKS))
    index = DatasetIndex.open(dataset_root(namespace, project, settings, args))
    videos, incomplete = index.complete_videos(("train", "val"), hashes=True)
    tasks = check_tasks(list(dict.fromkeys(namespace.task)), index, videos) \
        if namespace.task else []
    if incomplete:
        print(f"lightpipe export: {index.describe_incomplete(incomplete)}", file=sys.stderr)
    for warning in wan_warnings(index.info):
        print(f"lightpipe export: warning: {warning}", file=sys.stderr)
    if tasks:
        export_tasks(index, videos, tasks, workers, namespace.format, prompt_for)
        if namespace.format == "diffsynth":
            for task in tasks:
                print(f"DiffSynth-Studio ({task.name}): "
                      + diffsynth_arguments(index.root, task, wan_size_args(index.info)))
        return 0
    for split, records in videos.items():
        path = index.root / f"metadata_{split}.csv"
        write_bytes(path, diffsynth_csv(index.root, records).encode())
        print(f"wrote {path} ({len(records)} videos)")
    print("DiffSynth-Studio: " + shlex.join([
        "--dataset_base_path", str(index.root),
        "--dataset_metadata_path", str(index.root / "metadata_train.csv"),
        "--data_file_keys", "video,vace_video", "--extra_inputs", "vace_video",
        *wan_size_args(index.info)]))
    return 0


def dataset_root(namespace, project, settings, args: list[str]) -> str:
    """`--root`, else the `settings.output_dir` of `--config`, whose dataset it must hold."""
    if namespace.root is not None:
        return namespace.root
    if not config_paths(args):
        raise ConfigError("--root", None, "the dataset directory",
                          "or pass --config CONFIG to export the dataset at its output_dir")
    found = inspect_dataset(settings.output_dir, dataset_identity(project, settings))
    if found.match is Match.OTHER:
        raise LightpipeError(
            f"`settings.output_dir` {found.problem} ({'; '.join(found.differences[:6])}).\n"
            "HINT: export with the config that generated it, or pass --root DATASET.")
    return settings.output_dir


def diffsynth_csv(root: Path, videos: list[VideoRecord]) -> str:
    """`video,vace_video,prompt` rows; paths relative to the root (DiffSynth's base path)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for video in videos:
        files = video.modalities
        writer.writerow([*(files[modality].relative_to(root).as_posix()
                           for _, modality in FILE_COLUMNS), prompt_for(video.meta.spec)])
    return buffer.getvalue()


def prompt_for(spec: VideoSpec) -> str:
    """A generic caption from the spec: objects (by category: a built-in's shape, a user
    object's label, else "object"), ground, sky, environment or backdrop, camera motion; on
    the environment ground, the captured place stands for ground and backdrop."""
    families = Counter(_noun(obj) for obj in spec.objects)
    things = [_count(family, n) for family, n in families.items()]
    if not things:
        listed = "an empty scene"
    else:
        listed = things[0] if len(things) == 1 else ", ".join(things[:-1]) + " and " + things[-1]
    if spec.ground.capture_height is not None:  # the map's own ground (`scene.ground`)
        return (f"A synthetic 3D render of {listed} standing in a captured environment; "
                f"{_camera_phrase(spec.camera)}.")
    family = asset_family(spec.ground.material_id).replace("_", " ")
    ground = f"a {family}-textured ground" if family else "a textured ground"
    if spec.background.image_id:
        backdrop = "in front of a backdrop image"
    elif spec.environment.image_id:
        backdrop = "lit by a captured environment"
    else:
        backdrop = "under a " + ("clear" if spec.environment.turbidity < 3.5 else "hazy") + " sky"
    return f"A synthetic 3D render of {listed} on {ground} {backdrop}; {_camera_phrase(spec.camera)}."


def wan_warnings(info: dict) -> list[str]:
    """Where the dataset's frames or size do not fit Wan2.1 (4n+1 frames, multiples of 16)."""
    try:
        video = info["config"]["settings"]["video"]
        frames, width, height = int(video["num_frames"]), int(video["width"]), int(video["height"])
    except (KeyError, TypeError, ValueError):
        return ["dataset.json does not record the video size; check 4n+1 frames and "
                "multiples of 16"]
    problems = []
    if frames % WAN_FRAME_MULTIPLE != 1:
        below = frames - (frames - 1) % WAN_FRAME_MULTIPLE
        problems.append(f"videos have {frames} frames; Wan2.1 needs 4n+1 (e.g. 81 = 4*20+1): "
                        f"DiffSynth will use the first {below}")
    if width % WAN_SIZE_MULTIPLE or height % WAN_SIZE_MULTIPLE:
        problems.append(f"videos are {width}x{height}; Wan2.1 needs multiples of "
                        f"{WAN_SIZE_MULTIPLE} (e.g. 832x480): pass --width/--height to DiffSynth")
    return problems


def wan_size_args(info: dict) -> list[str]:
    """`--num_frames N --height H --width W`: the largest Wan-compatible values that fit."""
    try:
        video = info["config"]["settings"]["video"]
        frames, width, height = int(video["num_frames"]), int(video["width"]), int(video["height"])
    except (KeyError, TypeError, ValueError):
        return []
    frames -= (frames - 1) % WAN_FRAME_MULTIPLE
    height = max(WAN_SIZE_MULTIPLE, height - height % WAN_SIZE_MULTIPLE)
    width = max(WAN_SIZE_MULTIPLE, width - width % WAN_SIZE_MULTIPLE)
    return ["--num_frames", str(frames), "--height", str(height), "--width", str(width)]


def _camera_phrase(camera: CameraSpec) -> str:
    subject = "a handheld camera" if camera.shake_amplitude_deg > 0 else "the camera"
    trajectory = camera.trajectory
    if trajectory is Trajectory.ORBIT:
        return f"{subject} orbits the scene"
    if trajectory is Trajectory.DOLLY:  # dolly_speed > 0 moves the camera away from its target
        return f"{subject} moves " + ("away" if camera.dolly_speed > 0 else "closer")
    if trajectory is Trajectory.PAN:
        return f"{subject} pans" + (" and tilts" if camera.pan_speed_deg_s[1] != 0 else "")
    if trajectory is Trajectory.CRANE:  # crane_speed > 0 raises the camera
        return f"{subject} " + ("rises" if camera.crane_speed > 0 else "descends")
    return f"{subject} holds still"


def _noun(obj) -> str:
    """What the caption calls an object: its category (`assets.categories`), words only
    (`coffee_mug` -> `coffee mug`; a label without letters, e.g. a ShapeNet synset number,
    -> "object")."""
    label = object_category(obj) or ""
    label = " ".join(label.replace("_", " ").replace("-", " ").split())
    return label if any(c.isalpha() for c in label) else "object"


def _count(family: str, n: int) -> str:
    if n == 1:
        singular = _SINGULAR.get(family, family)
        return f"an {singular}" if singular[0] in "aeiou" else f"a {singular}"
    number = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
    return f"{number} {_NOUNS.get(family, _plural(family))}"


def _plural(noun: str) -> str:
    """English plural of a label's last word: mug -> mugs, box -> boxes, cherry -> cherries."""
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if len(noun) > 1 and noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"
