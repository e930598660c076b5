"""`lightpipe preview`: a PNG contact sheet of one video (a few frames x color, depth, extras).

The frames come from the dataset's files when video N is complete in `settings.output_dir` (and
that directory holds this config's dataset); otherwise video N is rendered on the fly on the CPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lightpipe.atomic_io import atomic_path
from lightpipe.commands.parsing import config_parser, parse_config
from lightpipe.config.settings import ProjectSettings, Settings
from lightpipe.dataset.identity import dataset_identity, run_layout
from lightpipe.dataset.index import Match, inspect_dataset
from lightpipe.dataset.layout import Layout
from lightpipe.dataset.meta import VideoMeta
from lightpipe.dataset.outputs import REGISTRY, PreviewContext, selected
from lightpipe.dataset.outputs.depth import depth_panels  # noqa: F401  (moved there)
from lightpipe.dataset.outputs.labels import (  # noqa: F401  (moved there)
    PALETTE,
    normal_panels,
    segmentation_panels,
)
from lightpipe.errors import ConfigError

CAPTION_H = 16  # height of the column caption strip, px
ROW_LABEL_W = 64  # width of the row caption strip, px
GAP = 2  # px between panels
MIN_PANEL = 256  # small videos are enlarged (nearest neighbour, integer factor) up to this size
BACKDROP = (40, 40, 40)
TEXT = (235, 235, 235)
@dataclass
class Frames:
    """The video's frames as images: column name -> (F,H,W,3) uint8."""

    columns: dict[str, np.ndarray]
    source: str
    arrays: dict = dataclasses.field(default_factory=dict)  # the outputs' arrays
    spec: object = None  # the video's VideoSpec


def run_preview(args: list[str]) -> int:
    parser = config_parser("lightpipe preview",
                           "Write a PNG contact sheet of one video: frames x (color, depth, ...).")
    parser.add_argument("--index", type=int, required=True, help="global index of the video")
    parser.add_argument("--frames", type=int, default=4,
                        help="rows: frames evenly spaced over the video, first and last included")
    parser.add_argument("--out", type=str, default=None,
                        help="PNG to write (default: preview_NNNN.png in the current directory)")
    parser.add_argument("--task", type=str, default=None,
                        help="show one VACE task instead: video | control | mask | reference "
                        "(docs/vace.md)")
    namespace, project, settings = parse_config(parser, args)
    index, rows = namespace.index, namespace.frames
    if namespace.task is not None:
        _check_task(namespace.task, settings)
    if not 0 <= index < settings.num_videos:
        raise ConfigError("--index", index, "an integer in [0, num_videos)",
                          f"this config has {settings.num_videos} videos "
                          f"(0-{settings.num_videos - 1})")
    if rows < 1:
        raise ConfigError("--frames", rows, "an integer >= 1")
    layout = run_layout(project, settings)  # a video of another seed is rendered, not shown
    out = Path(namespace.out or f"preview_{layout.stem(index)}.png")
    frames = load_frames(project, settings, layout, index)
    if namespace.task is not None:
        frames = _task_frames(frames, namespace.task)
    picked = frame_indices(next(iter(frames.columns.values())).shape[0], rows)
    sheet = contact_sheet(frames.columns, picked)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    print(f"video {layout.stem(index)} ({layout.split_of(index)}): {frames.source}")
    print(f"frames {', '.join(map(str, picked))}; columns {', '.join(frames.columns)}")
    print(f"wrote {out} ({sheet.width}x{sheet.height})")
    return 0


def load_frames(project: ProjectSettings, settings: Settings, layout: Layout,
                index: int) -> Frames:
    """From the dataset's files if video `index` is complete there, else rendered on the fly."""
    found = inspect_dataset(layout.root, dataset_identity(project, settings))
    if found.match is not Match.SAME:
        return _render(project, settings, index, found.problem)
    check = layout.check(index)
    if not check.complete:
        where = repr(str(layout.root))
        return _render(project, settings, index,
                       f"video {layout.stem(index)} is {check.status.value} in {where}")
    return _from_files(settings, layout, index, check.meta)


def frame_indices(num_frames: int, rows: int) -> list[int]:
    """`rows` frame indices evenly spaced over the video, first and last included, no repeats."""
    if rows == 1 or num_frames == 1:
        return [0]
    picked = np.round(np.linspace(0, num_frames - 1, min(rows, num_frames))).astype(int)
    return sorted(set(picked.tolist()))


def contact_sheet(columns: dict[str, np.ndarray], picked: list[int]) -> Image.Image:
    """Rows = picked frames, columns = images; a caption strip above and left of the panels."""
    first = next(iter(columns.values()))
    height, width = first.shape[1:3]
    scale = max(1, MIN_PANEL // max(height, width))
    ph, pw = height * scale, width * scale
    sheet_w = ROW_LABEL_W + len(columns) * (pw + GAP)
    sheet_h = CAPTION_H + len(picked) * (ph + GAP)
    sheet = Image.new("RGB", (sheet_w, sheet_h), BACKDROP)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for c, name in enumerate(columns):
        x = ROW_LABEL_W + c * (pw + GAP)
        draw.text((x + 3, 2), _fit(draw, font, COLUMN_TITLES.get(name, name), pw - 6),
                  fill=TEXT, font=font)
    for r, frame in enumerate(picked):
        y = CAPTION_H + r * (ph + GAP)
        draw.text((3, y + 3), _fit(draw, font, f"frame {frame}", ROW_LABEL_W - 6), fill=TEXT,
                  font=font)
        for c, images in enumerate(columns.values()):
            panel = images[frame]
            if scale > 1:
                panel = panel.repeat(scale, axis=0).repeat(scale, axis=1)
            sheet.paste(Image.fromarray(np.ascontiguousarray(panel), "RGB"),
                        (ROW_LABEL_W + c * (pw + GAP), y))
    return sheet


COLUMN_TITLES = {column: title for output in REGISTRY.values()
                 for column, title in output.panel_titles.items()}


def _fit(draw: ImageDraw.ImageDraw, font, text: str, width: int) -> str:
    """`text`, shortened with '..' until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while len(text) > 1 and draw.textlength(text + "..", font=font) > width:
        text = text[:-1]
    return text + ".."


def _from_files(settings: Settings, layout: Layout, index: int, meta: VideoMeta) -> Frames:
    files = meta.modality_files(layout.video_dir(index))
    present = [o for o in selected(settings.outputs) if o.present_in(meta)]
    arrays = {}
    for output in present:
        arrays.update(output.read(files, meta))
    return Frames(_columns(settings, present, arrays),
                  f"from files ({layout.video_dir(index)}/{layout.stem(index)}_*)", arrays,
                  meta.spec)


def _render(project: ProjectSettings, settings: Settings, index: int, reason: str) -> Frames:
    from lightpipe.dataset.outputs.references import reference_arrays
    from lightpipe.planning.planner import asset_pools, plan_video
    from lightpipe.render.backend import warn_if_native_missing
    from lightpipe.render.renderer import RenderOptions, render_video

    warn_if_native_missing("cpu", settings.render.native, settings.render.compile)
    spec = plan_video(project.seed, settings, index, asset_pools(project.seed, settings))
    video = render_video(spec, "cpu", frames_per_chunk=settings.render.frames_per_chunk,
                         max_candidates=settings.render.max_candidates,
                         options=RenderOptions.from_settings(settings))
    arrays = {f.name: getattr(video, f.name) for f in dataclasses.fields(video)}
    if video.references is not None:  # as the references output reads them
        arrays.update(reference_arrays(video.references.images, video.references.frames))
    return Frames(_columns(settings, selected(settings.outputs), arrays),
                  f"rendered on the fly on the CPU ({reason})", arrays, spec)


def _check_task(name: str, settings: Settings) -> None:
    from lightpipe.dataset.vace.tasks import TASKS, missing_outputs

    if name not in TASKS:
        raise ConfigError("--task", name, "one of: " + ", ".join(TASKS))
    missing = missing_outputs(name, settings.outputs)
    if missing:
        raise ConfigError("--task", name, "a task whose ground truth the config writes",
                          f"{name} needs {' and '.join(missing)}: add it to --settings.outputs")


def _task_frames(frames: Frames, name: str) -> Frames:
    """Columns video | control | mask (white = generate) | reference (where the task has one, in
    every row) of task `name`."""
    from lightpipe.dataset.vace.tasks import make_task
    from lightpipe.render.annotations import visible_boxes

    arrays = dict(frames.arrays)
    if "boxes_visible" not in arrays and arrays.get("segmentation") is not None:
        # rendered on the fly: the objects output's visible boxes, from the ids
        count = len(frames.spec.objects)
        boxes = np.full((arrays["segmentation"].shape[0], count, 4), np.nan)
        for ident, (_, per_frame) in visible_boxes(arrays["segmentation"], count + 2).items():
            for t, box in enumerate(per_frame):
                if box is not None:
                    boxes[t, ident - 2] = box
        arrays["boxes_visible"], arrays["object_ids"] = boxes, np.arange(count) + 2
    try:
        sample = make_task(name, arrays, frames.spec)
    except ValueError as error:
        raise ConfigError("--task", name, "a task this video can have", str(error)) from None
    columns = {"video": arrays["color"], f"control ({name})": sample.control}
    if sample.mask is not None:
        columns["mask"] = np.repeat(sample.mask[..., None], 3, axis=-1)
    if sample.reference is not None:
        columns["reference"] = np.broadcast_to(sample.reference, sample.control.shape)
    return Frames(columns, frames.source, arrays, frames.spec)


def _columns(settings: Settings, outputs, arrays: dict) -> dict[str, np.ndarray]:
    """Each output's preview panels, in registry order."""
    context = PreviewContext(settings.encoder.depth_normalization, arrays.get("depth"),
                             frames=len(arrays["color"]))
    columns = {}
    for output in outputs:
        columns.update(output.panels(arrays, context))
    return columns
