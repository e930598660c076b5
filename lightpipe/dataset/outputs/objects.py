"""Per-object, per-frame annotations in `NNNN.json` (no file): visible and amodal 2D boxes, the
3D oriented box, visible pixel count, world pose and velocities, asset and category
(`dataset.object_meta`). Read without decoding any video."""

from __future__ import annotations

import numpy as np

from lightpipe.dataset.object_meta import ObjectsMeta
from lightpipe.dataset.outputs.base import Encoded, Output

# Training item keys: (T, K, ...) per object slot, K = `slots` (padding: id -1, NaN, False, 0).
_PER_FRAME = {"boxes_visible": ("box_visible", 4), "boxes_amodal": ("box_amodal", 4),
              "positions": ("position", 3), "quaternions": ("quaternion", 4),
              "velocities": ("velocity", 3), "angular_velocities": ("angular_velocity", 3),
              "boxes_3d": ("box_3d", (8, 3))}


class Objects(Output):
    name = "objects"
    summary = ("per object and frame in NNNN.json: visible and amodal 2D boxes, 3D box, "
               "visible pixels, world pose, linear and angular velocity, asset and category")
    renders = ("objects",)
    bytes_per_pixel = 4  # the ids the visible boxes come from
    meta_path = ("objects",)
    record = ObjectsMeta
    lazy_record = True  # ~0.7 MB of JSON at 81 frames and 5 objects
    reader_keys = ("object_ids", "boxes_visible", "boxes_amodal", "boxes_amodal_clipped",
                   "visible_pixels", *[k for k in _PER_FRAME if not k.startswith("boxes")],
                   "boxes_3d")

    def encode(self, video, context) -> Encoded:
        return Encoded({}, video.objects)

    def read(self, files, meta, frames=None, keys=None):
        record = meta.outputs["objects"]
        count = meta.num_frames
        frames = np.arange(count) if frames is None else np.asarray(frames)
        tracks = record.objects
        arrays = {"object_ids": np.array([t.id for t in tracks], dtype=np.int64)}
        for key, (field, shape) in _PER_FRAME.items():
            shape = shape if isinstance(shape, tuple) else (shape,)
            values = np.full((len(frames), len(tracks), *shape), np.nan, dtype=np.float64)
            for k, track in enumerate(tracks):
                column = getattr(track, field)
                for row, frame in enumerate(frames):
                    if column[frame] is not None:
                        values[row, k] = column[frame]
            arrays[key] = values
        arrays["boxes_amodal_clipped"] = np.array(
            [[t.box_amodal_clipped[f] for t in tracks] for f in frames], dtype=bool
        ).reshape(len(frames), len(tracks))
        arrays["visible_pixels"] = np.array(
            [[t.visible_pixels[f] for t in tracks] for f in frames], dtype=np.int64
        ).reshape(len(frames), len(tracks))
        return arrays

    def tensors(self, arrays, geometry, slots=None):
        import torch

        boxes = {}
        sx, sy = geometry.scale
        shift = np.array([geometry.left, geometry.top, geometry.left, geometry.top])
        limit = np.array([geometry.size[1], geometry.size[0]] * 2, dtype=np.float64)
        clipped = arrays["boxes_amodal_clipped"].copy()
        for key in ("boxes_visible", "boxes_amodal"):
            box = arrays[key] * np.array([sx, sy, sx, sy]) - shift  # pixels of returned frames
            inside = np.clip(box, 0.0, limit)
            cut = np.any(inside != box, axis=-1) & ~np.isnan(box).any(axis=-1)
            empty = (inside[..., 2] <= inside[..., 0]) | (inside[..., 3] <= inside[..., 1])
            inside[empty] = np.nan
            if key == "boxes_amodal":
                clipped |= cut
            boxes[key] = inside
        item = {key: boxes.get(key, arrays[key]) for key in _PER_FRAME}
        item["object_ids"] = arrays["object_ids"]
        item["boxes_amodal_clipped"] = clipped
        item["visible_pixels"] = arrays["visible_pixels"]  # at the rendered size
        count = arrays["object_ids"].shape[0]
        slots = count if slots is None else slots
        if count > slots:
            raise ValueError(f"a video has {count} objects, more than the {slots} slots")
        out = {}
        for key, value in item.items():
            axis = 0 if key == "object_ids" else 1
            pad = [(0, 0)] * value.ndim
            pad[axis] = (0, slots - count)
            fill = -1 if key == "object_ids" else (False if value.dtype == bool else
                                                  0 if value.dtype.kind == "i" else np.nan)
            padded = np.pad(value, pad, constant_values=fill)
            tensor = torch.from_numpy(np.ascontiguousarray(padded))
            out[key] = tensor.float() if tensor.is_floating_point() else tensor
        return out
