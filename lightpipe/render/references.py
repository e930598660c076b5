"""Each object alone on white (the `references` output: VACE's reference images), the pure parts.

An object's reference is drawn in a planned frame of its video (`planned_frames`): its faces
alone (`alone`), in that frame's pose, camera, lighting and exposure, against a white backdrop
(the radiance the camera response maps to 255, so anti-aliased silhouettes blend into white).
The drawn pixels' box is then centred on a white canvas of the video's size (`centred`): the
object keeps the size it has in that frame, as VACE's references are subjects at their size on
white, letterboxed to the video's size.

The frame is drawn among those whose projected bounding box lies wholly inside the image and
before the near plane (the object is seen whole), from the video's own stream
(`dataset.vace.tasks.reference_frames`); the renderer draws it in `renderer.render_references`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lightpipe.render.scene import Scene

WHITE = 255


@dataclass(frozen=True)
class ObjectReferences:
    """A video's references: `images` (max(K, 1), H, W, 3) uint8, object k's at k (white for an
    object never in view, and one white image for a video without objects); per object the
    frame it was drawn in and its box (x0, y0, x1, y1) there (None, None: never in view)."""

    images: np.ndarray
    frames: list[int | None]
    boxes: list[tuple[int, int, int, int] | None]
# Box corners as (x, y, z) picks from the bounds' (min, max) rows.
_CORNERS = np.array([[(c >> axis) & 1 for axis in range(3)] for c in range(8)])


def in_view(scene: Scene, width: int, height: int, near: float) -> np.ndarray:
    """(K, F) float64: the share of object k's projected bounding box (its mesh's box through
    the frame's pose and the pinhole camera) inside the image in frame f; 0 where a corner lies
    behind the near plane. 1.0 means the object is seen whole (unless occluded)."""
    bounds = scene.part_bounds[1:]  # (K, 2, 3)
    count, frames = bounds.shape[0], scene.part_to_camera.shape[0]
    if count == 0:
        return np.zeros((0, frames))
    corners = bounds[:, _CORNERS, np.arange(3)]  # (K, 8, 3)
    points = np.concatenate([corners, np.ones((count, 8, 1))], axis=-1)
    camera = np.einsum("fkij,kcj->fkci", scene.part_to_camera[:, 1:, :3], points)  # (F,K,8,3)
    k = scene.intrinsics
    z = camera[..., 2]
    ahead = np.all(z > near, axis=-1)
    safe = np.where(z > near, z, 1.0)
    u = k[0, 0] * camera[..., 0] / safe + k[0, 2]
    v = k[1, 1] * camera[..., 1] / safe + k[1, 2]
    box = np.stack([u.min(-1), v.min(-1), u.max(-1), v.max(-1)], axis=-1)  # (F, K, 4)
    area = (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])
    inside_w = np.clip(np.minimum(box[..., 2], width) - np.maximum(box[..., 0], 0.0), 0.0, None)
    inside_h = np.clip(np.minimum(box[..., 3], height) - np.maximum(box[..., 1], 0.0), 0.0, None)
    share = np.where(ahead & (area > 0), inside_w * inside_h / np.where(area > 0, area, 1.0), 0.0)
    return np.clip(share, 0.0, 1.0).T


def alone(scene: Scene, part: int, frame: int) -> Scene:
    """`scene` reduced to part `part`'s faces (object part - 1) at frame `frame` (one frame).
    The vertices stay (faces index them), and so do the parts' world poses of every frame: the
    sun's shadow camera is fitted to them, so the object shadows itself as in the video."""
    keep = (scene.face_part == part).nonzero().view(-1)
    one = slice(frame, frame + 1)
    return dataclasses.replace(
        scene, faces=scene.faces.index_select(0, keep),
        face_part=scene.face_part.index_select(0, keep),
        face_uv=scene.face_uv.index_select(0, keep),
        face_info=scene.face_info.index_select(1, keep).contiguous(),
        face_texture_size=scene.face_texture_size.index_select(0, keep),
        model_view=scene.model_view[one], light_dir=scene.light_dir[one],
        extrinsics=scene.extrinsics[one], part_to_camera=scene.part_to_camera[one])


def centred(color: np.ndarray, ids: np.ndarray, object_id: int
            ) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """The object's pixels of a frame drawn on white (`color` (H, W, 3), `ids` (H, W)) centred on
    a white canvas of the same size, and their box (x0, y0, x1, y1) in the frame (None, and a
    white canvas, when nothing was drawn). A pixel belongs to the object where its id is the
    object's or its colour is not white (anti-aliased silhouette pixels)."""
    drawn = (ids == object_id) | np.any(color != WHITE, axis=-1)
    canvas = np.full_like(color, WHITE)
    rows, cols = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    if rows.size == 0:
        return canvas, None
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    height, width = color.shape[:2]
    top, left = (height - (y1 - y0)) // 2, (width - (x1 - x0)) // 2
    canvas[top:top + y1 - y0, left:left + x1 - x0] = color[y0:y1, x0:x1]
    return canvas, (x0, y0, x1, y1)
