"""Exact per-object, per-frame annotations (`dataset.object_meta`) from the known geometry and
poses of a video, plus its segmentation for what is visible.

Geometry is float64 from the same poses the renderer uses (`scene.part_poses`); the camera
transform and projections are elementwise numpy (no BLAS), so the numbers have the same bits
on every CPU. Cost: a few passes over the segmentation (bitwise presence per row and column)
and one projection of each mesh per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lightpipe.assets.categories import object_category
from lightpipe.assets.loader import load_object
from lightpipe.assets.simplify import DEFAULT_MAX_TRIANGLES
from lightpipe.dataset.object_meta import OBJECTS_CONVENTION, ObjectsMeta, ObjectTrack
from lightpipe.physics.rotations import quaternion
from lightpipe.planning.specs import VideoSpec
from lightpipe.render import kinematics
from lightpipe.render.scene import part_poses, simulated_motion
from lightpipe.render.textures import DEFAULT_MAX_TEXTURE_SIZE

# Corner c of a box is (x[c >> 2 & 1], y[c >> 1 & 1], z[c & 1]) with 0 = min, 1 = max.
CORNER_BITS = np.array([[(c >> 2) & 1, (c >> 1) & 1, c & 1] for c in range(8)], dtype=bool)
MAX_FRAME_POINTS = 1 << 20  # (frame, vertex) pairs `amodal_boxes` transforms at once


@dataclass(frozen=True)
class _MeshPart:
    mesh: object  # what `part_poses` reads of a part


def object_annotations(spec: VideoSpec, segmentation: np.ndarray, intrinsics: np.ndarray,
                       extrinsics: np.ndarray, asset_root: str | None = None,
                       parts: list | None = None, poses: np.ndarray | None = None,
                       max_triangles: int = DEFAULT_MAX_TRIANGLES) -> ObjectsMeta:
    """The `ObjectsMeta` of a rendered video.

    segmentation: (F,H,W) integer ids (0 sky, 1 ground, 2 + k spec.objects[k]);
    intrinsics (3,3) and extrinsics (F,4,4) world -> camera as the renderer returns them.
    parts: `scene.scene_parts(spec, asset_root)` when the caller has them (part 0 the ground);
    otherwise only the object meshes are loaded (cached, as the renderer loads them).
    poses: `scene.part_poses(spec, parts)` (F,P,4,4) when the caller has them.
    """
    segmentation = np.asarray(segmentation)
    frames, height, width = segmentation.shape
    if parts is None:
        parts = [None] + [_MeshPart(load_object(asset_root, obj.asset_id, DEFAULT_MAX_TEXTURE_SIZE,
                                                max_triangles).mesh)
                          for obj in spec.objects]
    if poses is None:
        poses = part_poses(spec, parts, asset_root=asset_root, max_triangles=max_triangles)
    if poses.shape[:2] != (frames, len(spec.objects) + 1) or extrinsics.shape[0] != frames:
        raise ValueError(f"{frames} segmentation frames, poses {poses.shape}, extrinsics "
                         f"{extrinsics.shape}: they must agree with the spec's "
                         f"{len(spec.objects)} objects")
    visible = visible_boxes(segmentation, len(spec.objects) + 2)
    intrinsics = np.asarray(intrinsics, dtype=np.float64)
    extrinsics = np.asarray(extrinsics, dtype=np.float64)
    motion = None if spec.physics is None else simulated_motion(spec, asset_root,
                                                                 max_triangles)
    tracks = []
    for k, (obj, part) in enumerate(zip(spec.objects, parts[1:])):
        pose = poses[:, k + 1]
        vertices = np.asarray(part.mesh.vertices, dtype=np.float64)
        low, high = vertices.min(axis=0), vertices.max(axis=0)
        corners = np.where(CORNER_BITS, high, low)
        amodal, clipped = amodal_boxes(kinematics.compose(extrinsics, pose), vertices,
                                       part.mesh.faces, intrinsics, spec.camera.near,
                                       width, height)
        if motion is not None:  # the engine's, at the frames
            linear, angular = motion.velocity[:, k], motion.angular_velocity[:, k]
        else:
            linear, angular = kinematics.object_velocities(obj, spec)
        counts, boxes = visible[k + 2]
        tracks.append(ObjectTrack(
            id=k + 2, asset_id=obj.asset_id, category=object_category(obj),
            scale=float(obj.scale), bounds=_tuples([low.tolist(), high.tolist()]),
            visible_pixels=tuple(counts), box_visible=tuple(boxes),
            box_amodal=tuple(amodal), box_amodal_clipped=tuple(clipped),
            box_3d=_tuples(transform(pose, corners).tolist()),
            position=_tuples(pose[:, :3, 3].tolist()),
            quaternion=tuple(quaternion(pose[f, :3, :3] / obj.scale) for f in range(frames)),
            velocity=_tuples(linear.tolist()), angular_velocity=_tuples(angular.tolist())))
    return ObjectsMeta(convention=OBJECTS_CONVENTION, objects=tuple(tracks))


def visible_boxes(segmentation: np.ndarray, num_ids: int
                  ) -> dict[int, tuple[list[int], list[tuple[int, int, int, int] | None]]]:
    """id -> (pixel count per frame, tight [x0, y0, x1, y1] per frame or None), for ids
    2..num_ids-1. Which rows and columns hold each id comes from one bitwise-OR pass per axis
    (an id is a bit) when the ids fit in 64 bits, else from a mask per id; the count is taken
    inside the box only."""
    frames, height, width = segmentation.shape
    if segmentation.dtype.kind != "u":
        if segmentation.size and int(segmentation.min()) < 0:
            raise ValueError("segmentation ids must not be negative")
        segmentation = segmentation.astype(np.uint64)
    top = int(segmentation.max(initial=0))
    if top >= num_ids:
        raise ValueError(f"segmentation id {top} but only ids below {num_ids} exist")
    if num_ids <= 64:  # the narrowest bit set that holds the ids without narrowing the ids
        dtype = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                     if np.iinfo(t).bits >= num_ids and t().itemsize >= segmentation.itemsize)
        bits = np.left_shift(np.ones((), dtype), segmentation, dtype=dtype)
        rows_all, cols_all = np.bitwise_or.reduce(bits, axis=2), np.bitwise_or.reduce(bits, axis=1)

        def presence(ident):
            return ((rows_all >> dtype(ident)) & 1).astype(bool), \
                ((cols_all >> dtype(ident)) & 1).astype(bool)
    else:
        def presence(ident):
            mask = segmentation == ident
            return mask.any(axis=2), mask.any(axis=1)

    result = {}
    for ident in range(2, num_ids):
        rows, cols = presence(ident)
        shown = rows.any(axis=1)
        y0, y1 = rows.argmax(axis=1), height - rows[:, ::-1].argmax(axis=1)
        x0, x1 = cols.argmax(axis=1), width - cols[:, ::-1].argmax(axis=1)
        counts, boxes = [], []
        for f in range(frames):
            if not shown[f]:
                counts.append(0)
                boxes.append(None)
                continue
            box = (int(x0[f]), int(y0[f]), int(x1[f]), int(y1[f]))
            counts.append(int(np.count_nonzero(
                segmentation[f, box[1]:box[3], box[0]:box[2]] == ident)))
            boxes.append(box)
        result[ident] = (counts, boxes)
    return result


def amodal_boxes(model_view: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                 intrinsics: np.ndarray, near: float, width: int, height: int
                 ) -> tuple[list[tuple[float, float, float, float] | None], list[bool]]:
    """Per frame: the pixel-edge box [x0, y0, x1, y1] of the mesh's projection, cut at z = near
    and clipped to [0, W] x [0, H] (None when empty), and whether anything was cut.

    Vertices with z <= near are not projected; each face edge from one of them to a vertex in
    front contributes its point on the near plane instead, which makes the box exact for the
    clipped mesh (the projection of a polygon in front of the camera spans its corners').
    Frames are taken in blocks of at most `MAX_FRAME_POINTS` (frame, vertex) pairs, so memory
    does not grow with frames x vertices (each frame's box is its own: the same values)."""
    edges = []  # the mesh's edges, found once, when a frame first needs them
    step = max(1, MAX_FRAME_POINTS // max(1, len(vertices)))
    boxes, clipped = [], []
    for start in range(0, model_view.shape[0], step):
        block = _amodal_block(model_view[start:start + step], vertices, faces, edges,
                              intrinsics, near, width, height)
        boxes += block[0]
        clipped += block[1]
    return boxes, clipped


def _amodal_block(model_view, vertices, faces, edges: list, intrinsics, near, width, height):
    """`amodal_boxes` of a block of frames; `edges` holds `_edges(faces)` once computed."""
    x, y, z = (transform(model_view, vertices)[..., i] for i in range(3))
    front = z > near
    u, v = project(intrinsics, x, y, np.where(front, z, 1.0))
    lows = [np.where(front, u, np.inf).min(axis=1), np.where(front, v, np.inf).min(axis=1)]
    highs = [np.where(front, u, -np.inf).max(axis=1), np.where(front, v, -np.inf).max(axis=1)]
    cut = ~front.all(axis=1)
    if (cut & front.any(axis=1)).any() and not edges:
        edges.append(_edges(np.asarray(faces)))
    for f in np.nonzero(cut & front.any(axis=1))[0]:
        a, b = edges[0][:, 0], edges[0][:, 1]
        cross = front[f][a] != front[f][b]
        a, b = a[cross], b[cross]
        t = (near - z[f][a]) / (z[f][b] - z[f][a])
        pu, pv = project(intrinsics, x[f][a] + t * (x[f][b] - x[f][a]),
                         y[f][a] + t * (y[f][b] - y[f][a]), near)
        lows[0][f], lows[1][f] = min(lows[0][f], pu.min()), min(lows[1][f], pv.min())
        highs[0][f], highs[1][f] = max(highs[0][f], pu.max()), max(highs[1][f], pv.max())
    boxes, clipped = [], []
    for f in range(model_view.shape[0]):
        extent = (float(lows[0][f]), float(lows[1][f]), float(highs[0][f]), float(highs[1][f]))
        box = (max(extent[0], 0.0), max(extent[1], 0.0), min(extent[2], float(width)),
               min(extent[3], float(height)))
        outside = extent[0] < 0 or extent[1] < 0 or extent[2] > width or extent[3] > height
        boxes.append(box if box[0] < box[2] and box[1] < box[3] else None)
        clipped.append(bool(cut[f] or outside))
    return boxes, clipped


def project(intrinsics: np.ndarray, x, y, z) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-edge coordinates (u, v) of camera-space points (z > 0)."""
    k = intrinsics
    return (k[0, 0] * (x / z) + k[0, 1] * (y / z) + k[0, 2], k[1, 1] * (y / z) + k[1, 2])


def transform(matrices: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(F,4,4) affine matrices applied to (N,3) points -> (F,N,3), by explicit elementwise sums
    (the same bits everywhere)."""
    m = matrices[:, None]
    p = points[None]
    return np.stack([(m[..., i, 0] * p[..., 0] + m[..., i, 1] * p[..., 1])
                     + (m[..., i, 2] * p[..., 2] + m[..., i, 3]) for i in range(3)], axis=-1)


def _edges(faces: np.ndarray) -> np.ndarray:
    """(E,2) the distinct undirected edges of a triangle list."""
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    pairs = np.sort(pairs, axis=1).astype(np.int64)
    base = int(pairs.max()) + 1
    keys = np.unique(pairs[:, 0] * base + pairs[:, 1])
    return np.stack([keys // base, keys % base], axis=1)


def _tuples(value):
    """Nested lists -> nested tuples (as `Record.from_dict` reads them back)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
