"""Silhouette anti-aliasing: pixels next to a change of part (object, ground, sky) are
re-resolved from k x k samples, each tested against the faces visible in its 3x3 neighbourhood.

Every sample keeps the nearest face that contains it (exact int64 keys, max), or the pixel's own
face when none does (sub-pixel triangles), or the backdrop; the k*k shaded colours are averaged
with integer sums. Interior pixels, depth, segmentation and normals are untouched.
"""

from __future__ import annotations

import torch

from lightpipe.generation.rasterizer import FACE_MASK, Intrinsics, take_columns
from lightpipe.generation.shading import ray_planes

NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


class SilhouetteAntialiasing:
    """Per chunk of frames: the ray/triangle planes (n', a, b, c) of every face."""

    def __init__(self, hit_planes: torch.Tensor, intr: Intrinsics, k: int, width: int,
                 height: int) -> None:
        self.hit_planes, self.intr, self.k = hit_planes, intr, k
        self.width, self.height = width, height

    @classmethod
    def create(cls, tris, intr, spec, k) -> SilhouetteAntialiasing:
        n, a, b, c = ray_planes(tris)
        return cls(torch.stack([*n, *a, *b, c], dim=1), intr, k, spec.width, spec.height)

    def resolve(self, f, keys, shading, backdrop, scene, rgb) -> None:
        """Re-resolve frame f's silhouette pixels in `rgb` ((H, W, 3) uint8); `shading` is
        the renderer's per-frame shading (planes, light, shadow lookup)."""
        k, w, h = self.k, self.width, self.height
        faces = keys & FACE_MASK
        part = torch.where(keys >= 0, scene.face_part.index_select(0, faces * (keys >= 0)), -1)
        grid = _replicate_pad(part.view(h, w))
        keys_grid = _replicate_pad(keys.view(h, w))
        mixed = torch.zeros((h, w), dtype=torch.bool, device=keys.device)
        for dy, dx in NEIGHBOURS:
            mixed |= grid[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] != grid[1:1 + h, 1:1 + w]
        edge = torch.nonzero(mixed.view(-1)).view(-1)
        if edge.numel() == 0:
            return
        count = k * k
        ey = torch.div(edge, w, rounding_mode="floor")
        ex = edge - ey * w
        sub = (torch.arange(k, device=keys.device, dtype=torch.float32) + 0.5) / k
        sx = (ex.to(torch.float32).view(-1, 1, 1) + sub.view(1, 1, k)).expand(-1, k, k)
        sy = (ey.to(torch.float32).view(-1, 1, 1) + sub.view(1, k, 1)).expand(-1, k, k)
        intr = self.intr
        rx = ((sx.reshape(-1) - intr.cx) / intr.fx).contiguous()
        ry = ((sy.reshape(-1) - intr.cy) / intr.fy).contiguous()
        own = keys.index_select(0, edge).repeat_interleave(count)
        best = torch.full_like(own, -1)
        table = self.hit_planes[f]
        for dy, dx in NEIGHBOURS:  # fixed order; max of exact integer keys: order-free anyway
            cand = keys_grid[1 + dy + ey, 1 + dx + ex].repeat_interleave(count)
            best = torch.maximum(best, _sample_key(table, cand, rx, ry))
        best = torch.where(best >= 0, best, own)
        colors = backdrop.index_select(0, edge.repeat_interleave(count)).to(torch.int32)
        hit = torch.nonzero(best >= 0).view(-1)
        if hit.numel():
            hx, hy = rx.index_select(0, hit), ry.index_select(0, hit)
            rays = torch.stack([hx, hy, torch.rsqrt((hx * hx + hy * hy) + 1.0)])
            shaded = shading.faces(best.index_select(0, hit) & FACE_MASK, rays)[0]
            colors.index_copy_(0, hit, shaded.to(torch.int32))
        total = colors.view(-1, count, 3).sum(dim=1)  # integers: exact in any order
        mean = torch.div(total + count // 2, count, rounding_mode="floor").to(torch.uint8)
        rgb.view(-1, 3).index_copy_(0, edge, mean)


def _sample_key(table: torch.Tensor, cand: torch.Tensor, rx, ry) -> torch.Tensor:
    """z-buffer key of face `cand` at the sample ray (rx, ry, 1) if it contains the sample."""
    valid = cand >= 0
    face = (cand & FACE_MASK) * valid
    p = take_columns(table, face)

    def dot(i):
        return (rx * p[i] + ry * p[i + 1]) + p[i + 2]

    det = dot(0)
    u, v = dot(3), dot(6)  # times det
    inside = torch.where(det > 0, (u >= 0) & (v >= 0) & (u + v <= det),
                         (u <= 0) & (v <= 0) & (u + v >= det))
    inverse_depth = det / p[9]
    ok = valid & inside & (det != 0) & (inverse_depth > 0)
    bits = inverse_depth.view(torch.int32).to(torch.int64)
    return torch.where(ok, (bits << 32) | face, -1)


def _replicate_pad(grid: torch.Tensor) -> torch.Tensor:
    """(h+2, w+2) copy of `grid` with its border repeated (no edges at the frame border)."""
    rows = torch.cat([grid[:1], grid, grid[-1:]])
    return torch.cat([rows[:, :1], rows, rows[:, -1:]], dim=1)
