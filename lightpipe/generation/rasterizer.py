"""Triangle rasterization into an exact integer z-buffer (order-independent, no float atomics)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

EMPTY = torch.iinfo(torch.int64).max
FACE_BITS = 32
FACE_MASK = (1 << FACE_BITS) - 1


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float


def rasterize(tris: torch.Tensor, intr: Intrinsics, width: int, height: int, near: float,
              max_candidates: int) -> torch.Tensor:
    """Visible face per pixel for a chunk of frames.

    Args:
        tris: camera-space triangles (Fc, T, 3, 3) (frame, face, vertex, xyz), OpenCV axes.
    Returns:
        int64 keys (Fc, H, W): `(float32 bits of depth) << 32 | face`, or EMPTY. The minimum
        key wins, so the result does not depend on evaluation order, chunking or threads.
    """
    num_frames, num_faces = tris.shape[:2]
    device = tris.device
    frame = torch.arange(num_frames, device=device).repeat_interleave(num_faces)
    face = torch.arange(num_faces, device=device).repeat(num_frames)
    tris = tris.reshape(-1, 3, 3)

    keep = _front_facing(tris) & (tris[:, :, 2] >= near).any(dim=1)
    tris, frame, face = tris[keep], frame[keep], face[keep]
    crossing = (tris[:, :, 2] < near).any(dim=1)
    if bool(crossing.any()):
        clipped, parent = _clip_near(tris[crossing], near)
        whole = ~crossing
        sub_frame, sub_face = frame[crossing][parent], face[crossing][parent]
        tris = torch.cat([tris[whole], clipped])
        frame = torch.cat([frame[whole], sub_frame])
        face = torch.cat([face[whole], sub_face])

    zbuf = torch.full((num_frames * height * width,), EMPTY, dtype=torch.int64, device=device)
    screen = _project(tris, intr)
    bounds = _pixel_bounds(screen, width, height)
    visible = (bounds[:, 1] >= bounds[:, 0]) & (bounds[:, 3] >= bounds[:, 2]) & (screen[:, 6] != 0)
    screen, bounds, frame, face = screen[visible], bounds[visible], frame[visible], face[visible]
    counts = (bounds[:, 1] - bounds[:, 0] + 1) * (bounds[:, 3] - bounds[:, 2] + 1)
    for tri_slice in _chunks(counts, max_candidates):
        _rasterize_chunk(zbuf, screen[tri_slice], bounds[tri_slice], counts[tri_slice],
                         frame[tri_slice], face[tri_slice], width, height)
    return zbuf.view(num_frames, height, width)


def key_faces(keys: torch.Tensor) -> torch.Tensor:
    """Face index stored in z-buffer keys (only meaningful where key != EMPTY)."""
    return keys & FACE_MASK


def _front_facing(tris: torch.Tensor) -> torch.Tensor:
    """Counter-clockwise faces whose normal points towards the camera at the origin."""
    v0, v1, v2 = tris[:, 0], tris[:, 1], tris[:, 2]
    e1, e2 = v1 - v0, v2 - v0
    nx = e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1]
    ny = e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2]
    nz = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    return (nx * v0[:, 0] + ny * v0[:, 1]) + nz * v0[:, 2] < 0


def _clip_near(tris: torch.Tensor, near: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Clip triangles against z = near (Sutherland-Hodgman), fan the polygons into triangles.

    Returns the sub-triangles (N,3,3) and the index of their parent triangle.
    """
    n = tris.shape[0]
    points, valid = [], []
    for i in range(3):
        a, b = tris[:, i], tris[:, (i + 1) % 3]
        da, db = a[:, 2] - near, b[:, 2] - near
        t = (da / torch.where(da == db, torch.ones_like(da), da - db)).unsqueeze(1)
        hit = a + (b - a) * t
        hit = torch.cat([hit[:, :2], torch.full_like(hit[:, 2:], near)], dim=1)
        points += [a, hit]
        valid += [da >= 0, (da >= 0) != (db >= 0)]
    points = torch.stack(points, dim=1)  # (n, 6, 3)
    valid = torch.stack(valid, dim=1)  # (n, 6)
    # Compact the valid points of each polygon to the front, keeping their order (<= 4 points).
    slot = torch.arange(6, device=tris.device).expand(n, 6)
    order = torch.argsort(torch.where(valid, slot, slot + 6), dim=1)
    points = torch.gather(points, 1, order.unsqueeze(2).expand(n, 6, 3))[:, :4]
    num_points = valid.sum(dim=1)
    first = torch.stack([points[:, 0], points[:, 1], points[:, 2]], dim=1)
    second = torch.stack([points[:, 0], points[:, 2], points[:, 3]], dim=1)
    parent = torch.arange(n, device=tris.device)
    has_second = num_points >= 4
    keep_first = num_points >= 3
    out = torch.cat([first[keep_first], second[has_second]])
    return out, torch.cat([parent[keep_first], parent[has_second]])


def _project(tris: torch.Tensor, intr: Intrinsics) -> torch.Tensor:
    """Per triangle: x0 y0 x1 y1 x2 y2 (pixels), signed area, 1/z of each vertex -> (N, 10)."""
    inv_z = 1.0 / tris[:, :, 2]
    sx = tris[:, :, 0] * inv_z * intr.fx + intr.cx
    sy = tris[:, :, 1] * inv_z * intr.fy + intr.cy
    area = (sx[:, 1] - sx[:, 0]) * (sy[:, 2] - sy[:, 0]) - (sx[:, 2] - sx[:, 0]) * (sy[:, 1] - sy[:, 0])
    return torch.stack([sx[:, 0], sy[:, 0], sx[:, 1], sy[:, 1], sx[:, 2], sy[:, 2], area,
                        inv_z[:, 0], inv_z[:, 1], inv_z[:, 2]], dim=1)


def _pixel_bounds(screen: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Inclusive pixel ranges [x_lo, x_hi, y_lo, y_hi] whose centres may be covered."""
    xs, ys = screen[:, 0:6:2], screen[:, 1:6:2]
    x_lo = torch.ceil(xs.amin(dim=1) - 0.5).clamp(0, width - 1)
    x_hi = torch.floor(xs.amax(dim=1) - 0.5).clamp(-1, width - 1)
    y_lo = torch.ceil(ys.amin(dim=1) - 0.5).clamp(0, height - 1)
    y_hi = torch.floor(ys.amax(dim=1) - 0.5).clamp(-1, height - 1)
    return torch.stack([x_lo, x_hi, y_lo, y_hi], dim=1).long()


def _chunks(counts: torch.Tensor, budget: int) -> list[slice]:
    """Consecutive triangle ranges of about `budget` candidate pixels each."""
    if counts.numel() == 0:
        return []
    ends = torch.cumsum(counts, 0)
    chunk_of = torch.div(ends - 1, budget, rounding_mode="floor")
    boundaries = torch.nonzero(chunk_of[1:] != chunk_of[:-1]).flatten().tolist()
    starts = [0] + [b + 1 for b in boundaries]
    stops = [b + 1 for b in boundaries] + [counts.numel()]
    return [slice(a, b) for a, b in zip(starts, stops)]


def _rasterize_chunk(zbuf, screen, bounds, counts, frame, face, width, height) -> None:
    total = int(counts.sum())
    device = screen.device
    tri = torch.repeat_interleave(torch.arange(counts.numel(), device=device), counts,
                                  output_size=total)
    starts = torch.cumsum(counts, 0) - counts
    local = torch.arange(total, device=device) - starts[tri]
    box_w = (bounds[:, 1] - bounds[:, 0] + 1)[tri]
    px = bounds[tri, 0] + local % box_w
    py = bounds[tri, 2] + torch.div(local, box_w, rounding_mode="floor")
    s = screen[tri]
    cx, cy = px.to(s.dtype) + 0.5, py.to(s.dtype) + 0.5
    x0, y0, x1, y1, x2, y2 = (s[:, i] - (cx if i % 2 == 0 else cy) for i in range(6))
    w0 = x1 * y2 - x2 * y1
    w1 = x2 * y0 - x0 * y2
    w2 = x0 * y1 - x1 * y0
    area = s[:, 6]
    positive = area > 0
    inside = torch.where(positive, (w0 >= 0) & (w1 >= 0) & (w2 >= 0),
                         (w0 <= 0) & (w1 <= 0) & (w2 <= 0))
    depth = area / ((w0 * s[:, 7] + w1 * s[:, 8]) + w2 * s[:, 9])
    bits = depth.view(torch.int32).to(torch.int64)
    key = torch.where(inside & (depth > 0), (bits << FACE_BITS) | face[tri], EMPTY)
    index = (frame[tri] * height + py) * width + px
    zbuf.scatter_reduce_(0, index, key, reduce="amin")
