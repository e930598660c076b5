"""`lightpipe preview`: a PNG contact sheet of one video (a few frames x color, depth, extras).

The frames come from the dataset's files when video N is complete in `settings.output_dir` (and
that directory holds this config's dataset); otherwise video N is rendered on the fly on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lightpipe.atomic_io import atomic_path
from lightpipe.datamodule.depth_format import dequantize_metric, inverse_depth_gray
from lightpipe.datamodule.layout import Layout, read_dataset_file
from lightpipe.datamodule.output_dir import expected_identity, layout_for
from lightpipe.datamodule.settings import ProjectSettings, Settings
from lightpipe.errors import ConfigError
from lightpipe.plan_command import config_parser, parse_config

CAPTION_H = 16  # height of the column caption strip, px
ROW_LABEL_W = 64  # width of the row caption strip, px
GAP = 2  # px between panels
MIN_PANEL = 256  # small videos are enlarged (nearest neighbour, integer factor) up to this size
BACKDROP = (40, 40, 40)
TEXT = (235, 235, 235)
EXTRA_OUTPUTS = ("segmentation", "normals")
# Segmentation ids 1, 2, ... cycle through these colours; id 0 (nothing / background) is black.
PALETTE = np.array([
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (255, 255, 255),
], dtype=np.uint8)


@dataclass
class Frames:
    """The video's frames as images: column name -> (F,H,W,3) uint8."""

    columns: dict[str, np.ndarray]
    source: str


def run_preview(args: list[str]) -> int:
    parser = config_parser("lightpipe preview",
                           "Write a PNG contact sheet of one video: frames x (color, depth, ...).")
    parser.add_argument("--index", type=int, required=True, help="global index of the video")
    parser.add_argument("--frames", type=int, default=4,
                        help="rows: frames evenly spaced over the video, first and last included")
    parser.add_argument("--out", type=str, default=None,
                        help="PNG to write (default: preview_NNNN.png in the current directory)")
    namespace, project, settings = parse_config(parser, args)
    index, rows = namespace.index, namespace.frames
    if not 0 <= index < settings.num_videos:
        raise ConfigError("--index", index, "an integer in [0, num_videos)",
                          f"this config has {settings.num_videos} videos "
                          f"(0-{settings.num_videos - 1})")
    if rows < 1:
        raise ConfigError("--frames", rows, "an integer >= 1")
    layout = layout_for(settings)
    out = Path(namespace.out or f"preview_{layout.stem(index)}.png")
    frames = load_frames(project, settings, layout, index)
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
    reason = _files_unusable(project, settings, layout, index)
    if reason is None:
        return _from_files(settings, layout, index)
    return _render(project, settings, index, reason)


def frame_indices(num_frames: int, rows: int) -> list[int]:
    """`rows` frame indices evenly spaced over the video, first and last included, no repeats."""
    if rows == 1 or num_frames == 1:
        return [0]
    picked = np.round(np.linspace(0, num_frames - 1, min(rows, num_frames))).astype(int)
    return sorted(set(picked.tolist()))


def depth_panels(depth: np.ndarray, per_frame: bool) -> np.ndarray:
    """Metric depth (F,H,W), 0 = no surface -> inverse-depth gray as RGB (near bright)."""
    gray, _ = inverse_depth_gray(depth, per_frame=per_frame)
    return np.repeat(gray[..., None], 3, axis=3)


def segmentation_panels(ids: np.ndarray) -> np.ndarray:
    """Integer ids (F,H,W) -> RGB with a fixed colour per id; 0 = black."""
    ids = np.asarray(ids).astype(np.int64)
    rgb = PALETTE[(np.maximum(ids, 1) - 1) % len(PALETTE)]
    rgb[ids <= 0] = 0
    return rgb


def normal_panels(normals: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
    """Normals (F,H,W,3) as RGB: unit vectors map [-1,1] -> [0,255]; uint8 is shown as is.

    Pixels without a surface (depth 0) are black.
    """
    normals = np.asarray(normals)
    if normals.dtype == np.uint8:
        rgb = normals.copy()
    else:
        rgb = np.clip(np.floor((normals.astype(np.float32) * 0.5 + 0.5) * 255 + 0.5), 0, 255)
        rgb = rgb.astype(np.uint8)
    if depth is not None and depth.shape == rgb.shape[:3]:
        rgb[depth <= 0] = 0
    return rgb


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


COLUMN_TITLES = {"color": "color", "depth": "depth (inverse, near bright)",
                 "segmentation": "segmentation", "normals": "normals"}


def _fit(draw: ImageDraw.ImageDraw, font, text: str, width: int) -> str:
    """`text`, shortened with '..' until it fits `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while len(text) > 1 and draw.textlength(text + "..", font=font) > width:
        text = text[:-1]
    return text + ".."


def _files_unusable(project: ProjectSettings, settings: Settings, layout: Layout,
                    index: int) -> str | None:
    """None if video `index` can be read from `settings.output_dir`, else why not."""
    where = repr(str(layout.root))
    try:
        found = read_dataset_file(layout.root)
    except ValueError:
        found = None
    if found is None:
        return f"no dataset in {where}"
    if found.get("config") != expected_identity(project, settings):
        return f"{where} holds a dataset of another configuration"
    status = layout.status(index, hashes=False)
    if status != "complete":
        return f"video {layout.stem(index)} is {status} in {where}"
    return None


def _from_files(settings: Settings, layout: Layout, index: int) -> Frames:
    from lightpipe.generation.video_codec import decode_gray16, decode_rgb

    meta = layout.read_meta(index)
    metric = meta["depth"]["metric"]
    color = decode_rgb(layout.video_file(index, "color"))
    depth = dequantize_metric(decode_gray16(layout.video_file(index, "depth")),
                              metric["near"], metric["far"])
    per_frame = settings.encoder.depth_normalization == "per_frame"
    columns = {"color": color, "depth": depth_panels(depth, per_frame)}
    directory = layout.video_dir(index)
    for name, entry in sorted(meta["files"].items()):
        modality = entry.get("modality")
        if modality not in EXTRA_OUTPUTS or modality in columns:
            continue
        try:
            columns[modality] = _decode_extra(directory / name, modality, depth)
        except Exception as exc:  # an extra column is optional: say so, show the rest
            print(f"note: {name} not shown ({type(exc).__name__}: {exc})")
    files = f"{directory}/{layout.stem(index)}_*"
    return Frames(columns, f"from files ({files})")


def _decode_extra(path: Path, modality: str, depth: np.ndarray) -> np.ndarray:
    from lightpipe.generation.video_codec import decode_gray16, decode_rgb

    if modality == "segmentation":
        try:
            ids = decode_gray16(path)
        except ValueError:  # not gray16: take the ids from the first channel of an 8-bit video
            ids = decode_rgb(path)[..., 0]
        return segmentation_panels(ids)
    return normal_panels(decode_rgb(path), depth)


def _render(project: ProjectSettings, settings: Settings, index: int, reason: str) -> Frames:
    from lightpipe.datamodule.planner import asset_pools, plan_video
    from lightpipe.generation.module import render_options
    from lightpipe.generation.renderer import render_video

    spec = plan_video(project.seed, settings, index, asset_pools(project.seed, settings))
    video = render_video(spec, "cpu", frames_per_chunk=settings.render.frames_per_chunk,
                         max_candidates=settings.render.max_candidates,
                         options=render_options(settings))
    per_frame = settings.encoder.depth_normalization == "per_frame"
    columns = {"color": video.color, "depth": depth_panels(video.depth, per_frame)}
    segmentation = getattr(video, "segmentation", None)
    if segmentation is not None:
        columns["segmentation"] = segmentation_panels(segmentation)
    normals = getattr(video, "normals", None)
    if normals is not None:
        columns["normals"] = normal_panels(normals, video.depth)
    missing = [name for name in settings.outputs if name in EXTRA_OUTPUTS and name not in columns]
    if missing:
        print(f"note: the renderer gives no {', '.join(missing)} yet; not shown")
    return Frames(columns, f"rendered on the fly on the CPU ({reason})")
