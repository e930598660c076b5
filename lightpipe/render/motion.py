"""Exact optical flow (forward and backward, with validity / occlusion flags) and object
coordinates, from a rendered video's depth and segmentation ids and the scene's rigid motion.
The eager PyTorch reference: `render.backend` runs it (compiled or as it is) or the native C
kernels (`csrc/motion.c`), the same bits.

Conventions (the contract):
- Camera: OpenCV axes (x right, y down, z forward), pinhole K; pixel i spans [i, i + 1), so the
  centre of column u, row v is (u + 0.5, v + 0.5) (exact in float32). The ray of a pixel is
  (rx, ry, 1) of `shading.pixel_rays` (rx = (u + 0.5 - cx) / fx in float32), depth is planar z
  (0 where there is no surface), ids are the segmentation's: 0 no surface, 1 the ground (part 0),
  2 + k object k (part k + 1).
- Flow of frame t towards frame s (s = t + 1 forward, s = t - 1 backward): per pixel the
  displacement in pixels (dx right, dy down) from the pixel centre to where the same surface
  point projects at frame s. A surface pixel's point is p = (rx z, ry z, z) in camera t; its part
  moves rigidly: p' = MV[s, part] inv(MV[t, part]) p (MV: part -> camera, `Scene.part_to_camera`,
  composed per (frame, part) in float64 without BLAS, then cast to float32 once per frame as 3x4
  rows). A pixel without surface is a direction at infinity: d = (rx, ry, 1),
  d' = R[s] R[t]^T d (R: the camera's world -> camera rotations). With a screen-fixed backdrop
  image (`spec.background.image_id`) those pixels have flow 0 instead (valid, inside).
  The target is u' = (x' / z') fx + cx, v' = (y' / z') fy + cy; flow = (u' - (u + 0.5),
  v' - (v + 0.5)). Per pixel everything is float32 in a fixed order (`flow_block`), the same in
  C.
- Flags (uint8 bits): VALID (a target exists: frame s exists, and the point is in front of the
  camera at s: z' > near (float32 of `spec.camera.near`) for a surface, d'_z > 0 for a
  direction), INSIDE (VALID and the target in [0, W) x [0, H)), VISIBLE (INSIDE and not occluded
  at frame s). The occlusion test reads frame s's depth at the 2 x 2 pixels whose centres
  surround the target (columns floor(u' - 0.5) and the next, rows likewise, those inside the
  image: they include floor(u'), floor(v')); it passes if any of them passes: for a surface,
  depth > 0 and |depth - z'| <= VISIBLE_TOLERANCE z'; for a direction, depth == 0 (no
  surface there either). VISIBLE_TOLERANCE = 0.02: the depth read at a pixel centre differs from
  z' by the surface's depth change over up to half a pixel (less with the 2 x 2 test when the
  target falls between centres), which on the ground seen at a grazing angle, r rows below the
  horizon, is about z / (2 r): within 2 % for r >= 25 rows; a nearer surface occluding the
  point is in front of it by more than that in every case that matters (objects are >= ~10 cm
  thick at >= 1 m). Ground pixels within ~25 rows of the horizon may miss VISIBLE. Invalid pixels
  have flow 0 and flags 0; SATURATED (8) is left to the encoder (the value exceeds its stored
  range). The first frame's backward and the last frame's forward flow are all invalid.
- Object coordinates: an object pixel's surface point in its part's (mesh) frame,
  q = inv(MV[t, part]) p, normalized by the part mesh's axis-aligned box (`Scene.part_bounds`):
  c = clamp((q - min) / (max - min), 0, 1) per axis (0.5 on an axis where the box is flat), the
  camera -> box affine composed in float64 per (frame, part) and cast to float32 3x4 once. Ground
  and no-surface pixels get 0 (the ids say which pixels have coordinates).
- With motion blur (a shutter), depth and ids, and so the flow and coordinates, are those of the
  frame's own instant (the sharp frame pass), as the depth is.
"""

from __future__ import annotations

import numpy as np
import torch

from lightpipe.dataset.flow_codes import (  # the on-disk contract: flag bits and tolerance
    INSIDE,
    SATURATED,
    VALID,
    VISIBLE,
    VISIBLE_TOLERANCE,
)
from lightpipe.render import kinematics
from lightpipe.render.zbuffer import take_columns
TRANSFORM_SIZE = 13  # a row of `flow_transforms`: the 3x4 rows, then the z' threshold
BOX_SIZE = 12  # a row of `box_transforms`: the 3x4 rows
PARAMS = ("fx", "fy", "cx", "cy", "tolerance", "backdrop")  # `flow_params`, float32


def affine_inverse(m: np.ndarray) -> np.ndarray:
    """inv of (..., 4, 4) affine float64 matrices [A | b; 0 0 0 1], written out (adjugate / det,
    no LAPACK): the same bits everywhere."""
    a = [[m[..., i, j] for j in range(3)] for i in range(3)]
    b = [m[..., i, 3] for i in range(3)]
    adj = [[a[1][1] * a[2][2] - a[1][2] * a[2][1], a[0][2] * a[2][1] - a[0][1] * a[2][2],
            a[0][1] * a[1][2] - a[0][2] * a[1][1]],
           [a[1][2] * a[2][0] - a[1][0] * a[2][2], a[0][0] * a[2][2] - a[0][2] * a[2][0],
            a[0][2] * a[1][0] - a[0][0] * a[1][2]],
           [a[1][0] * a[2][1] - a[1][1] * a[2][0], a[0][1] * a[2][0] - a[0][0] * a[2][1],
            a[0][0] * a[1][1] - a[0][1] * a[1][0]]]
    det = (a[0][0] * adj[0][0] + a[0][1] * adj[1][0]) + a[0][2] * adj[2][0]
    out = np.zeros(m.shape, dtype=np.float64)
    for i in range(3):
        for j in range(3):
            out[..., i, j] = adj[i][j] / det
        out[..., i, 3] = -((out[..., i, 0] * b[0] + out[..., i, 1] * b[1]) + out[..., i, 2] * b[2])
    out[..., 3, 3] = 1.0
    return out


def flow_transforms(part_to_camera: np.ndarray, extrinsics: np.ndarray, t: int, s: int,
                    near: float) -> torch.Tensor:
    """(P + 1, TRANSFORM_SIZE) float32, one row per segmentation id: id 0 (no surface) the
    camera rotation R[s] R[t]^T (translation 0, threshold 0), id 1 + k part k's
    MV[s, k] inv(MV[t, k]) (threshold near); each 3x4 row-major then the z' threshold."""
    rel = kinematics.compose(part_to_camera[s], affine_inverse(part_to_camera[t]))  # (P, 4, 4)
    rs, rt = np.eye(4), np.eye(4)
    rs[:3, :3], rt[:3, :3] = extrinsics[s, :3, :3], extrinsics[t, :3, :3].T
    sky = kinematics.compose(rs, rt)
    table = np.zeros((rel.shape[0] + 1, TRANSFORM_SIZE), dtype=np.float32)
    table[0, :12] = sky[:3].reshape(-1)
    table[1:, :12] = rel[:, :3].reshape(rel.shape[0], 12)
    table[1:, 12] = np.float32(near)
    return torch.from_numpy(table)


def box_transforms(part_to_camera: np.ndarray, part_bounds: np.ndarray, t: int) -> torch.Tensor:
    """(P + 1, BOX_SIZE) float32, one row per segmentation id: camera t -> the part's normalized
    box, (q - min) / (max - min) with q = inv(MV[t, k]) p (id 1 + k); rows 0 and 1 (no surface,
    the ground) are 0. An axis where the box is flat maps to 0.5."""
    lo, hi = part_bounds[:, 0], part_bounds[:, 1]
    extent = hi - lo
    flat = extent <= 0
    scale = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, extent))
    box = np.zeros((part_bounds.shape[0], 4, 4))
    for i in range(3):
        box[:, i, i] = scale[:, i]
        box[:, i, 3] = np.where(flat[:, i], 0.5, -lo[:, i] * scale[:, i])
    box[:, 3, 3] = 1.0
    camera_to_box = kinematics.compose(box, affine_inverse(part_to_camera[t]))
    table = np.zeros((part_bounds.shape[0] + 1, BOX_SIZE), dtype=np.float32)
    table[2:] = camera_to_box[1:, :3].reshape(-1, 12)
    return torch.from_numpy(table)


def flow_params(intrinsics: np.ndarray, backdrop: bool) -> torch.Tensor:
    """(len(PARAMS),) float32: fx, fy, cx, cy, VISIBLE_TOLERANCE, backdrop (1 or 0)."""
    k = intrinsics
    return torch.tensor([k[0, 0], k[1, 1], k[0, 2], k[1, 2], VISIBLE_TOLERANCE, float(backdrop)],
                        dtype=torch.float32)


def _transform(m, px, py, pz, row: int):
    return ((m[4 * row] * px + m[4 * row + 1] * py) + m[4 * row + 2] * pz) + m[4 * row + 3]


def flow_block(pixel, depth, ids, rx, ry, target_depth, transforms, params, width: int,
               height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flow (N, 2) float32 and flags (N,) uint8 of the pixels `pixel` (N,) int64 of a frame,
    with their depth, ids (int32), rays rx, ry (N,), the target frame's depth (H*W,), the
    frame pair's `flow_transforms` and `flow_params`."""
    m = take_columns(transforms.t().contiguous(), ids.long())  # (TRANSFORM_SIZE, N)
    fx, fy, cx, cy, tolerance, backdrop = params.unbind(0)
    sky = ids == 0
    z = torch.where(sky, torch.ones_like(depth), depth)
    px, py = rx * z, ry * z
    xp, yp, zp = (_transform(m, px, py, z, i) for i in range(3))
    cu = (pixel % width).to(torch.float32) + 0.5
    cv = torch.div(pixel, width, rounding_mode="floor").to(torch.float32) + 0.5
    up = (xp / zp) * fx + cx
    vp = (yp / zp) * fy + cy
    still = sky & (backdrop > 0.0)  # a screen-fixed backdrop image: flow 0
    up, vp = torch.where(still, cu, up), torch.where(still, cv, vp)
    valid = (zp > m[12]) | still
    inside = valid & (up >= 0.0) & (up < width) & (vp >= 0.0) & (vp < height)
    u0 = torch.floor(torch.where(inside, up, torch.zeros_like(up)) - 0.5).long()
    v0 = torch.floor(torch.where(inside, vp, torch.zeros_like(vp)) - 0.5).long()
    limit = zp * tolerance
    visible = torch.zeros_like(inside)
    for dv in (0, 1):
        for du in (0, 1):
            u, v = u0 + du, v0 + dv
            there = (u >= 0) & (u < width) & (v >= 0) & (v < height)
            found = target_depth.index_select(0, torch.where(there, v * width + u,
                                                             torch.zeros_like(u)))
            surface = (found > 0.0) & ((found - zp).abs() <= limit)
            visible = visible | (there & torch.where(sky, found == 0.0, surface))
    visible = inside & visible
    flow = torch.stack([torch.where(valid, up - cu, torch.zeros_like(up)),
                        torch.where(valid, vp - cv, torch.zeros_like(vp))], dim=1)
    flags = valid.to(torch.uint8) * VALID | inside.to(torch.uint8) * INSIDE \
        | visible.to(torch.uint8) * VISIBLE
    return flow, flags


def coordinates_block(depth, ids, rx, ry, boxes) -> torch.Tensor:
    """Object coordinates (N, 3) float32 of pixels with depth, ids (int32) and rays rx, ry (N,),
    with the frame's `box_transforms`; 0 where the id is not an object's."""
    m = take_columns(boxes.t().contiguous(), ids.long())  # (BOX_SIZE, N)
    px, py = rx * depth, ry * depth
    objects = ids >= 2
    return torch.stack([torch.where(objects, torch.clamp(_transform(m, px, py, depth, i), 0.0,
                                                         1.0), torch.zeros_like(depth))
                        for i in range(3)], dim=1)


def video_motion(backend, spec, part_to_camera: np.ndarray, part_bounds: np.ndarray,
                 extrinsics: np.ndarray, intrinsics: np.ndarray, rays: torch.Tensor,
                 depth: np.ndarray, ids: np.ndarray, flow=None, object_coordinates=None) -> None:
    """Every frame's flow and object coordinates of a rendered video (CPU arrays), once its
    depth (F, H, W) float32 and ids (F, H, W) int32 are all drawn (the visibility test reads
    the neighbouring frames' depth).

    Args:
        flow: None, or (forward, forward_flags, backward, backward_flags): (F, H, W, 2)
            float32 and (F, H, W) uint8 arrays to fill.
        object_coordinates: None, or the (F, H, W, 3) float32 array to fill.
        rays: (3, H*W) CPU `pixel_rays`.
    """
    count = depth.shape[0]
    params = flow_params(intrinsics, bool(spec.background.image_id))
    near = spec.camera.near
    for t in range(count):
        d, i = torch.from_numpy(depth[t]).view(-1), torch.from_numpy(ids[t]).view(-1)
        if flow is not None:
            for out, out_flags, s in ((flow[0], flow[1], t + 1), (flow[2], flow[3], t - 1)):
                f, g = torch.from_numpy(out[t]).view(-1, 2), torch.from_numpy(out_flags[t]).view(-1)
                if not 0 <= s < count:
                    f.zero_()
                    g.zero_()
                    continue
                backend.flow_frame(d, i, rays, torch.from_numpy(depth[s]).view(-1),
                                   flow_transforms(part_to_camera, extrinsics, t, s, near),
                                   params, spec.width, spec.height, f, g)
        if object_coordinates is not None:
            backend.object_coordinates_frame(
                d, i, rays, box_transforms(part_to_camera, part_bounds, t),
                torch.from_numpy(object_coordinates[t]).view(-1, 3))
