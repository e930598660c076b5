"""`lightpipe export --task T`: VACE's control tasks drawn from the dataset's ground truth,
written once in VACE's own preprocess naming and listed for DiffSynth-Studio or VACE.

Files: `vace/<task>/NNNN/src_video-<task>.mp4` (the control, DiffSynth's `vace_video`) and,
for the tasks with a mask, `src_mask-<task>.mp4` (255 generate, 0 keep; lossless H.264, so the
values survive); the reference task writes `src_ref_image_0-reference.png` instead (no source
video, VACE's R2V). Each is written atomically and skipped when present: a second run, or a run
after a crash, does only what is missing. Each file's bytes depend only on the dataset and the
task (x264 pinned to one thread), never on `--workers`.

`--format diffsynth` lists them per split and task in `metadata_<split>_<task>.csv` (video,
vace_video, vace_video_mask where the task has a mask, vace_reference_image where it has a
reference, prompt); `--format vace` in `vace_<split>_<task>.jsonl` (src_video, src_mask,
src_ref_images, prompt: the arguments of VACE's `vace_wan_inference.py`).
"""

from __future__ import annotations

import csv
import io
import json
import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from lightpipe.atomic_io import atomic_path, write_bytes
from lightpipe.dataset.index import DatasetIndex, VideoRecord
from lightpipe.dataset.outputs import REGISTRY
from lightpipe.dataset.vace.tasks import (
    TASKS,
    Task,
    make_task,
    missing_outputs,
    task_needs,
    task_reads,
)
from lightpipe.errors import ConfigError, LightpipeError
from lightpipe.planning.specs import VideoSpec

TASK_DIR = "vace"
CONTROL_CRF = 18  # the controls at the colour video's quality (VACE's are lossy too)
MASK_CRF = 0  # masks lossless: exactly 0 and 255 after decoding
# x264's preset for both: superfast takes ~30% less time than the colour video's veryfast for
# 30-45% larger controls (masks: 26 against 22 KiB a video; ultrafast would be 151)
TASK_PRESET = "superfast"
X264_THREADS = 1  # pinned: bytes never depend on --workers
UNAVAILABLE = "unavailable.txt"  # in a video's task folder: why it cannot have the task


def check_tasks(names: list[str], index: DatasetIndex,
                videos: dict[str, list[VideoRecord]]) -> list[Task]:
    """The tasks named, refused before anything is written: an unknown one, one whose ground
    truth the dataset lacks (naming the setting to add), an object task without objects."""
    allowed = ", ".join(TASKS)
    tasks = []
    for name in names:
        if name not in TASKS:
            raise ConfigError("--task", name, f"one of: {allowed}")
        tasks.append(TASKS[name])
    settings = (index.info.get("config") or {}).get("settings") or {}
    outputs = list(settings.get("outputs") or ["color", "depth"])
    for task in tasks:
        missing = missing_outputs(task.name, outputs)
        if missing:
            wanted = "[" + ",".join(outputs + missing) + "]"
            raise LightpipeError(
                f"--task {task.name} needs the {' and '.join(missing)} output(s), which this "
                f"dataset does not have (settings.outputs = {json.dumps(outputs)}).\n"
                f"HINT: generate it with --settings.outputs '{wanted}' (a new dataset: the "
                "outputs are part of its identity), or export other tasks.")
        if task.objects and not any(v.meta.spec.objects for vs in videos.values() for v in vs):
            raise LightpipeError(
                f"--task {task.name} draws the videos' objects, and no video of this dataset "
                "has one (settings.scene.max_objects = "
                f"{(settings.get('scene') or {}).get('max_objects')}).\n"
                "HINT: generate with --settings.scene.min_objects 1, or export tasks without "
                "objects (depth, flow, gray, inpainting_region, outpainting, firstframe, ...).")
    return tasks


def task_files(root: Path, stem: str, task: Task) -> dict[str, Path]:
    """The files of video `stem` (`Layout.stem`) for `task`: 'control' and 'mask' (where it has
    a source video and a mask), 'reference' (the reference image, where it has one)."""
    directory = root / TASK_DIR / task.name / stem
    files = {}
    if task.source:
        files["control"] = directory / f"src_video-{task.name}.mp4"
        if task.masked:
            files["mask"] = directory / f"src_mask-{task.name}.mp4"
    if task.reference:
        files["reference"] = directory / f"src_ref_image_0-{task.name}.png"
    return files


def export_tasks(index: DatasetIndex, videos: dict[str, list[VideoRecord]], tasks: list[Task],
                 workers: int, fmt: str, prompt: Callable[[VideoSpec], str]) -> None:
    """Write every (video, task) files that are missing (`workers` processes), then the lists
    (`prompt`: a video's caption)."""
    root, stem = index.root, index.layout.stem
    missing = {}  # video -> its tasks with a file missing: one job (its videos decoded once)
    for split in videos:
        for video in videos[split]:
            names = [task.name for task in tasks
                     if not _done(task_files(root, stem(video.index), task))]
            if names:
                missing[video.index] = (video, names)
    total = sum(len(vs) for vs in videos.values()) * len(tasks)
    to_write = sum(len(names) for _, names in missing.values())
    started, done = time.perf_counter(), 0
    print(f"lightpipe export: {total - to_write} of {total} (video, task) exports already "
          f"complete; {to_write} to write with {workers} worker(s)", file=sys.stderr, flush=True)
    if missing:
        arguments = [(root, stem(video.index), video, names)
                     for video, names in missing.values()]
        pool = ProcessPoolExecutor(workers, initializer=_one_thread) if workers > 1 else None
        try:
            results = pool.map(_write_job, arguments) if pool else map(_write_job, arguments)
            last = 0.0
            for written in results:
                done += written
                now = time.perf_counter()
                if now - last > 2.0 or done == to_write:
                    last = now
                    rate = done / max(now - started, 1e-9)
                    print(f"lightpipe export: {done}/{to_write} (video, task) exports written, "
                          f"{rate:.1f}/s, ~{(to_write - done) / max(rate, 1e-9):.0f} s left",
                          file=sys.stderr, flush=True)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
    for task in tasks:
        for split, records in videos.items():
            lacking = [v for v in records
                       if _unavailable(task_files(root, stem(v.index), task)).exists()]
            records = [v for v in records if v not in lacking]
            if fmt == "diffsynth":
                path = root / f"metadata_{split}_{task.name}.csv"
                write_bytes(path, _diffsynth_csv(root, records, task, stem, prompt).encode())
            else:
                path = root / f"vace_{split}_{task.name}.jsonl"
                write_bytes(path, _vace_lines(root, records, task, stem, prompt).encode())
            print(f"wrote {path} ({len(records)} videos)")
            if lacking:
                print(f"lightpipe export: task {task.name}: {len(lacking)} {split} video(s) "
                      "cannot have it and are left out of the list: "
                      f"{index.layout.describe([v.index for v in lacking])} (the reason is in "
                      f"{TASK_DIR}/{task.name}/NNNN/{UNAVAILABLE})", file=sys.stderr)


def diffsynth_arguments(root: Path, task: Task, size_args: list[str]) -> str:
    """The DiffSynth-Studio training arguments of one task's train list."""
    keys = ["video", *_diffsynth_keys(task)]
    return shlex.join([
        "--dataset_base_path", str(root),
        "--dataset_metadata_path", str(root / f"metadata_train_{task.name}.csv"),
        "--data_file_keys", ",".join(keys), "--extra_inputs", ",".join(keys[1:]), *size_args])


def _diffsynth_keys(task: Task) -> list[str]:
    """The DiffSynth columns of a task's files, in `task_files` order."""
    keys = ["vace_video", *(["vace_video_mask"] if task.masked else [])] if task.source else []
    return keys + (["vace_reference_image"] if task.reference else [])


def _write_job(job) -> int:
    """Write one video's missing task files (its outputs decoded once); how many tasks."""
    root, stem, video, names = job
    present = video.modalities
    arrays = {}
    for output in task_needs(names):
        arrays.update(REGISTRY[output].read(present, video.meta,
                                            keys=task_reads(names, output)))
    for name in names:
        _write_task(task_files(root, stem, TASKS[name]), video, name, arrays)
    return len(names)


def _one_thread() -> None:
    """A worker process's kernels on one thread: the workers already fill the cores."""
    import torch

    torch.set_num_threads(1)


def _done(files: dict[str, Path]) -> bool:
    """Whether a (video, task) needs no work: its files are all there, or it cannot have it."""
    return all(p.exists() for p in files.values()) or _unavailable(files).exists()


def _unavailable(files: dict[str, Path]) -> Path:
    """The note a video leaves for a task it cannot have (an object task where it shows none of
    its objects): the reason, so a resumed export does not try again."""
    return next(iter(files.values())).parent / UNAVAILABLE


def _write_task(files: dict[str, Path], video: VideoRecord, name: str, arrays: dict) -> None:
    from lightpipe.dataset.video_codec import H264Options, encode_gray_h264, encode_rgb_h264

    next(iter(files.values())).parent.mkdir(parents=True, exist_ok=True)
    try:
        sample = make_task(name, arrays, video.meta.spec)
    except ValueError as error:  # e.g. it shows none of its objects: noted, left out of lists
        write_bytes(_unavailable(files), f"{name}: {error}\n".encode())
        return
    fps = video.meta.video.fps
    if "control" in files:
        control = sample.control
        with atomic_path(files["control"]) as tmp:
            options = H264Options(TASK_PRESET, crf=CONTROL_CRF, threads=X264_THREADS)
            if control.strides[-1] == 0 or (  # one channel seen three times, or equal ones
                    np.array_equal(control[0, ..., 0], control[0, ..., 1])  # (colour: fails
                    and np.array_equal(control[..., 0], control[..., 1])  # at frame 0)
                    and np.array_equal(control[..., 1], control[..., 2])):
                encode_gray_h264(tmp, np.ascontiguousarray(control[..., 0]), fps, options)
            else:
                encode_rgb_h264(tmp, control, fps, options)
    if "mask" in files:
        key = (name, sample.mask.shape, fps) if TASKS[name].fixed_mask else None
        with atomic_path(files["mask"]) as tmp:
            if key in _FIXED_MASKS:  # the same bytes as encoding it again
                tmp.write_bytes(_FIXED_MASKS[key])
            else:
                encode_gray_h264(tmp, sample.mask, fps, H264Options(TASK_PRESET, crf=MASK_CRF,
                                                                     threads=X264_THREADS))
                if key is not None:
                    _FIXED_MASKS[key] = tmp.read_bytes()
    if "reference" in files:
        write_bytes(files["reference"], png_bytes(sample.reference))


# Per process: the mask files of the tasks whose mask depends on the video's shape alone (the
# extension tasks), by (task, mask shape, fps): encoded once, not once per video.
_FIXED_MASKS: dict[tuple, bytes] = {}


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, 3) uint8 as PNG (Pillow, default compression: the same bytes every run)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _diffsynth_csv(root: Path, records: list[VideoRecord], task: Task, stem, prompt_for) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["video", *_diffsynth_keys(task), "prompt"])
    for video in records:
        files = task_files(root, stem(video.index), task)
        writer.writerow([video.modalities["color"].relative_to(root).as_posix(),
                         *(p.relative_to(root).as_posix() for p in files.values()),
                         prompt_for(video.meta.spec)])
    return buffer.getvalue()


def _vace_lines(root: Path, records: list[VideoRecord], task: Task, stem, prompt_for) -> str:
    """VACE's inference arguments per video: src_video, src_mask, src_ref_images, prompt."""
    keys = {"control": "src_video", "mask": "src_mask", "reference": "src_ref_images"}
    lines = []
    for video in records:
        files = task_files(root, stem(video.index), task)
        entry = {keys[k]: p.relative_to(root).as_posix() for k, p in files.items()}
        entry["prompt"] = prompt_for(video.meta.spec)
        lines.append(json.dumps(entry))
    return "".join(line + "\n" for line in lines)
