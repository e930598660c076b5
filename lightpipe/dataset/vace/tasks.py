"""VACE's control tasks, each made from a video's stored ground truth (`controls`).

A task names the outputs it reads (`needs`: `settings.outputs` must hold them), whether it
gives a mask and whether it needs objects. Its choices (which object, region or border) come
from the video's own stream: `task_rng(spec, task)` depends on nothing but the video's seed and
the task's name, so the same seed gives the same tasks, whoever makes them and in what order.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lightpipe.dataset.vace import controls
from lightpipe.planning.specs import VideoSpec

VACE_STREAM = 0x7ACE  # names the tasks' streams (any constant would do)
FIRST_OBJECT_ID = 2  # segmentation ids: 0 none, 1 ground, 2 + k object k
REGION_SIDES = (0.2, 0.5)  # inpainting_region: the rectangle's sides, fractions of the frame's
BORDER_SIDES = (0.1, 0.25)  # outpainting: each padded side's width, a fraction of the frame's
REFERENCE_STREAM = "references"  # the stream the references' frames are drawn from (the output)


@dataclass(frozen=True)
class TaskSample:
    """What one task gives for one video: `control` (T, H, W, 3) uint8 (DiffSynth's
    `vace_video`), `mask` (T, H, W) uint8 255 generate / 0 keep, or None, `choice`: what
    was drawn (object id, region, border), for the export's records, and `reference`: the
    reference image of the reference task."""

    control: np.ndarray
    mask: np.ndarray | None
    choice: dict
    reference: np.ndarray | None = None  # (H, W, 3) uint8: `vace_reference_image`


@dataclass(frozen=True)
class Task:
    name: str
    needs: tuple[str, ...]  # outputs beyond color, by registry name
    masked: bool  # gives a mask (`vace_video_mask`)
    objects: bool  # needs at least one object
    summary: str
    make: Callable[[dict, VideoSpec, np.random.Generator], TaskSample]
    source: bool = True  # the export writes its source video (and mask): VACE's src_video
    reference: bool = False  # gives a reference image (`vace_reference_image`)
    reads: tuple[str, ...] | None = None  # the arrays of `needs` it reads, where not all (the
    #                                        outputs' `read` keys: reader keys, *_codes)
    fixed_mask: bool = False  # its mask depends on the video's frame count and size alone


def task_rng(spec: VideoSpec, task: str) -> np.random.Generator:
    """The stream of `task`'s choices for video `spec`: (video seed, VACE_STREAM, crc32(task))."""
    return np.random.default_rng(np.random.SeedSequence(
        [spec.video_seed, VACE_STREAM, zlib.crc32(task.encode())]))


def make_task(task: str, arrays: dict, spec: VideoSpec,
              rng: np.random.Generator | None = None) -> TaskSample:
    """`task` for the video `spec` from its stored arrays (the output registry's reader keys:
    color, depth, segmentation, flow_forward, object_ids, boxes_visible, ...), its choices from
    `rng` (default: the video's own stream, `task_rng`)."""
    return TASKS[task].make(arrays, spec, task_rng(spec, task) if rng is None else rng)


def reference_frames(spec: VideoSpec, shares: np.ndarray) -> list[int | None]:
    """The frame each object's reference is drawn in (the `references` output), from `shares`
    (K, F): the share of its projected box inside the image per frame (`render.references.
    in_view`). Drawn uniformly among the frames that show the whole box, from the stream
    `task_rng(spec, REFERENCE_STREAM)`; else the frame showing the most of it (the first such);
    None for an object never in view."""
    rng = task_rng(spec, REFERENCE_STREAM)
    frames: list[int | None] = []
    for share in shares:
        whole = np.flatnonzero(share >= 1.0)
        if whole.size:
            frames.append(int(whole[rng.integers(whole.size)]))
        else:
            frames.append(int(np.argmax(share)) if share.size and share.max() > 0 else None)
    return frames


def missing_outputs(task: str, present) -> list[str]:
    """The outputs `task` reads that `present` (output names: a dataset's or a config's
    settings.outputs) lacks, in the task's order: what export and preview refuse the task for
    (the training reader checks each video's files instead)."""
    return [need for need in TASKS[task].needs if need not in present]


def task_reads(names, output: str) -> tuple[str, ...] | None:
    """The arrays of `output` that the tasks `names` read (for `Output.read`'s `keys`), or None:
    all of them (a task needing it declares no `reads`, or none needs it)."""
    reads = [TASKS[name].reads for name in names if output in TASKS[name].needs]
    if not reads or any(r is None for r in reads):
        return None
    return tuple(dict.fromkeys(key for r in reads for key in r))


def task_needs(names) -> tuple[str, ...]:
    """The outputs the tasks `names` read, color first, each once."""
    return tuple(dict.fromkeys(["color", *(n for t in names for n in TASKS[t].needs)]))


def _control(function) -> Callable:
    def make(arrays, spec, rng):
        return TaskSample(function(arrays), None, {})
    return make


def _depth(per_frame: bool) -> Callable:
    return _control(lambda a: controls.depth_control(a["depth"], per_frame))


def _layout_bbox(arrays, spec, rng) -> TaskSample:
    height, width = arrays["color"].shape[1:3]
    return TaskSample(controls.layout_bbox(arrays["boxes_visible"], height, width), None, {})


def _layout_track(arrays, spec, rng) -> TaskSample:
    ids = [FIRST_OBJECT_ID + k for k in range(len(spec.objects))]
    return TaskSample(controls.layout_track(arrays["segmentation"], ids), None, {})


def _chosen_object(spec: VideoSpec, seen: np.ndarray, rng) -> int:
    """A slot drawn uniformly among the objects seen in at least one frame (`seen` (K,) bool)."""
    slots = np.flatnonzero(seen)
    if slots.size == 0:
        raise ValueError(f"video {spec.index} shows none of its {len(spec.objects)} objects")
    return int(slots[rng.integers(slots.size)])


def _masktrack(arrays, spec, rng) -> TaskSample:
    ids = arrays["segmentation"]
    seen = np.array([np.any(ids == FIRST_OBJECT_ID + k) for k in range(len(spec.objects))],
                    dtype=bool)
    slot = _chosen_object(spec, seen, rng)
    video, mask = controls.masked_video(arrays["color"], ids == FIRST_OBJECT_ID + slot)
    return TaskSample(video, mask, {"object_id": FIRST_OBJECT_ID + slot})


def _bboxtrack(arrays, spec, rng) -> TaskSample:
    boxes = arrays["boxes_visible"]
    slot = _chosen_object(spec, np.isfinite(boxes).all(axis=-1).any(axis=0), rng)
    height, width = arrays["color"].shape[1:3]
    video, mask = controls.masked_video(arrays["color"],
                                        controls.box_masks(boxes[:, slot], height, width))
    return TaskSample(video, mask, {"object_id": int(arrays["object_ids"][slot])})


def _region(arrays, spec, rng) -> TaskSample:
    frames, height, width = arrays["color"].shape[:3]
    w = max(1, round(rng.uniform(*REGION_SIDES) * width))
    h = max(1, round(rng.uniform(*REGION_SIDES) * height))
    x0, y0 = int(rng.integers(width - w + 1)), int(rng.integers(height - h + 1))
    box = np.tile(np.array([x0, y0, x0 + w, y0 + h], np.float64), (frames, 1))
    video, mask = controls.masked_video(arrays["color"], controls.box_masks(box, height, width))
    return TaskSample(video, mask, {"region": [x0, y0, x0 + w, y0 + h]})


def _outpainting(arrays, spec, rng) -> TaskSample:
    frames, height, width = arrays["color"].shape[:3]
    sides = rng.random(4) < 0.5
    if not sides.any():
        sides[rng.integers(4)] = True
    fractions = rng.uniform(*BORDER_SIDES, size=4)
    extent = (width, height, width, height)
    border = tuple(int(round(f * e)) if s else 0 for f, e, s in zip(fractions, extent, sides))
    video, mask = controls.masked_video(arrays["color"],
                                        controls.border_mask(frames, height, width, border))
    return TaskSample(video, mask, {"border": list(border)})  # left, top, right, bottom


def _reference(arrays, spec, rng) -> TaskSample:
    """One object's reference (drawn among those in view) with nothing else to keep: the video
    is VACE's empty source (grey 127, as `vace_video` None gives) and the mask all 255."""
    frames = arrays["reference_frames"]  # one per object, -1 never in view
    slot = _chosen_object(spec, frames >= 0, rng)
    video, mask = controls.extension(arrays["color"], "none")
    return TaskSample(video, mask, {"object_id": FIRST_OBJECT_ID + slot,
                                    "frame": int(frames[slot])}, arrays["references"][slot])


def _extension(keep: str) -> Callable:
    def make(arrays, spec, rng):
        video, mask = controls.extension(arrays["color"], keep)
        return TaskSample(video, mask, {})
    return make


TASKS: dict[str, Task] = {task.name: task for task in (
    Task("depth", ("depth",), False, False,
         "inverse depth, near bright, min-max per frame (VACE's MiDaS annotator)", _depth(True)),
    Task("depth_steady", ("depth",), False, False,
         "inverse depth, near bright, one range per video (no flicker; the depth_vis video)",
         _depth(False)),
    Task("flow", ("flow",), False, False,
         "forward flow in the Middlebury colours, per-frame max, first image repeated",
         _control(lambda a: controls.flow_control(
             a["flow_forward_codes"] if "flow_forward_codes" in a else a["flow_forward"])),
         reads=("flow_forward_codes",)),
    Task("gray", (), False, False, "grey video as VACE's annotator makes it",
         _control(lambda a: controls.gray_control(a["color"]))),
    Task("scribble", ("segmentation", "normals"), False, False,
         "silhouettes and creases, black 2 px lines on white",
         _control(lambda a: controls.scribble_control(
             a["segmentation"], a["normal_codes"] if "normal_codes" in a else a["normals"])),
         reads=("segmentation", "normal_codes")),
    Task("layout_bbox", ("objects",), False, True,
         "each object's visible box, 2 px outlines on white", _layout_bbox),
    Task("layout_track", ("segmentation",), False, True,
         "each object's mask contour, 3 px on white", _layout_track),
    Task("inpainting_masktrack", ("segmentation",), True, True,
         "one object's exact mask per frame, grey 128", _masktrack),
    Task("inpainting_bboxtrack", ("objects",), True, True,
         "one object's visible box per frame, grey 128", _bboxtrack),
    Task("inpainting_region", (), True, False,
         "a random rectangle, the same in every frame, grey 128", _region),
    Task("outpainting", (), True, False,
         "a random border (each side with probability 1/2), grey 128", _outpainting),
    Task("firstframe", (), True, False, "the first frame kept, the rest grey 127",
         _extension("first"), fixed_mask=True),
    Task("lastframe", (), True, False, "the last frame kept, the rest grey 127",
         _extension("last"), fixed_mask=True),
    Task("firstlastframe", (), True, False, "the first and last frames kept, the rest grey 127",
         _extension("firstlast"), fixed_mask=True),
    Task("reference", ("references",), True, True,
         "one object alone on white, centred at its size in a planned frame; no video kept",
         _reference, source=False, reference=True),
)}
