"""Each object rendered alone on white, centred at its size in a planned frame: VACE's reference
images (`render.references`). One lossless RGB image per object slot, as the frames of one FFV1
file; the frame each was drawn in and its box there in `NNNN.json`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lightpipe.dataset.outputs.base import Encoded, Output, OutputFile, channels_first
from lightpipe.records import Record


@dataclass(frozen=True)
class ReferencesMeta(Record):
    """`NNNN_references.mkv`: image k is object k (segmentation id 2 + k) alone on white.

    `frames[k]` is the video frame it was drawn in: one that shows its whole projected box where
    there is one, drawn from the video's stream, else the one showing the most of it; None (and
    a white image) for an object never in view. `boxes[k]` is its drawn pixels' box (x0, y0, x1,
    y1) in that frame; the image centres that box on the video-sized canvas."""

    file: str
    kind: str
    frames: tuple[int | None, ...]
    boxes: tuple[tuple[int, int, int, int] | None, ...]

    @classmethod
    def of(cls, file: str, references) -> ReferencesMeta:
        return cls(file=file,
                   kind="each object alone on white, centred, at its size in `frames[k]`; "
                        "RGB, FFV1 (lossless); image k = object k",
                   frames=tuple(references.frames), boxes=tuple(
                       None if b is None else tuple(int(v) for v in b) for b in references.boxes))


def reference_arrays(images: np.ndarray, frames) -> dict[str, np.ndarray]:
    """The reader's arrays from the images (one per object, or one white image without
    objects) and the per-object frames (None: never in view)."""
    return {"references": images[:len(frames)], "reference_frames": np.array(
        [-1 if f is None else f for f in frames], dtype=np.int64)}


class References(Output):
    name = "references"
    summary = ("each object rendered alone on white, centred at its size in a planned frame "
               "(VACE's reference images): one lossless image per object, FFV1")
    files = (OutputFile("references", "_references.mkv", "matroska", "ffv1", "bgr0"),)
    renders = ("references",)
    meta_path = ("references",)
    record = ReferencesMeta
    reader_keys = ("references", "reference_frames")

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.video_codec import encode_rgb_ffv1

        images = video.references.images
        return Encoded(
            {"references": lambda path: encode_rgb_ffv1(path, images, context.fps,
                                                         context.keyframe_interval)},
            ReferencesMeta.of(context.file_name("references"), video.references))

    def read(self, files, meta, frames=None, keys=None):
        """Every object's image (K, H, W, 3) whatever `frames` asks (they are per object, not
        per frame) and `reference_frames` (K,) int64, -1 for an object never in view."""
        from lightpipe.dataset.video_reader import read_rgb

        return reference_arrays(read_rgb(files["references"]),
                                meta.outputs["references"].frames)

    def tensors(self, arrays, geometry, slots=None):
        """`references` (slots, 3, H', W') float in [0, 1], resized and cropped as the clip
        (white for padding slots), `reference_frames` (slots,) int64 (-1 for padding)."""
        import torch

        count = arrays["reference_frames"].shape[0]
        slots = count if slots is None else slots
        if count > slots:
            raise ValueError(f"a video has {count} objects, more than the {slots} slots")
        padded = torch.ones((slots, 3, *geometry.size), dtype=torch.float32)
        if count:
            images = torch.from_numpy(channels_first(arrays["references"])).float().div_(255.0)
            padded[:count] = geometry.apply(images, "bilinear")
        frames = torch.full((slots,), -1, dtype=torch.int64)
        frames[:count] = torch.from_numpy(arrays["reference_frames"])
        return {"references": padded, "reference_frames": frames}

    def panels(self, arrays, context):
        """Every object's image in one grid (object k at row k // n, column k % n of an n-wide
        grid, n = ceil(sqrt(K)), each shrunk by the same whole factor), the same in every row of
        the sheet: the images are per object, not per frame."""
        grid = reference_grid(arrays["references"][:len(arrays["reference_frames"])])
        return {"references": np.broadcast_to(grid, (context.frames, *grid.shape))}


def reference_grid(images: np.ndarray) -> np.ndarray:
    """(K, H, W, 3) uint8 images -> one (H, W, 3) white canvas with the K images in an
    n x ceil(K / n) grid (n = ceil(sqrt(K))), each reduced by the grid's larger side (a box
    average over whole blocks), the grid centred. No image: a white canvas."""
    count, height, width = images.shape[:3]
    canvas = np.full((height, width, 3), 255, np.uint8)
    if count == 0:
        return canvas
    columns = int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    factor = max(rows, columns)
    cell_h, cell_w = height // factor, width // factor
    if cell_h == 0 or cell_w == 0:
        return canvas
    cells = images[:, :cell_h * factor, :cell_w * factor].reshape(
        count, cell_h, factor, cell_w, factor, 3).mean(axis=(2, 4))
    cells = np.rint(cells).astype(np.uint8)
    top, left = (height - rows * cell_h) // 2, (width - columns * cell_w) // 2
    for k, cell in enumerate(cells):
        y, x = top + (k // columns) * cell_h, left + (k % columns) * cell_w
        canvas[y:y + cell_h, x:x + cell_w] = cell
    return canvas
