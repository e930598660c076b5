"""Silhouette anti-aliasing: pixels next to a change of part (object, ground, sky) are
re-resolved from k x k samples, each tested against the faces visible in its 3x3 neighbourhood.

Every sample keeps the nearest face that contains it (exact int64 keys, max), or the pixel's own
face when none does (sub-pixel triangles), or the backdrop; the k*k samples' linear radiance is
averaged by additions in a fixed order. Interior pixels, depth, segmentation and normals are
untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from lightpipe.render.shading import ray_dot, ray_planes
from lightpipe.render.zbuffer import FACE_MASK, Intrinsics, encode_keys, entries, take_columns

if TYPE_CHECKING:
    from lightpipe.render.backend import Backend

NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


class SilhouetteAntialiasing:
    """Per chunk of frames: the ray/triangle planes (n', a, b, c) of every face."""

    def __init__(self, hit_planes: torch.Tensor, intr: Intrinsics, k: int, width: int,
                 height: int, backend: Backend) -> None:
        self.hit_planes, self.k, self.backend = hit_planes, k, backend
        self.width, self.height = width, height
        self.intr = torch.tensor([intr.fx, intr.fy, intr.cx, intr.cy], dtype=torch.float32,
                                 device=hit_planes.device)

    @classmethod
    def create(cls, tris, intr, spec, k, backend: Backend) -> SilhouetteAntialiasing:
        n, a, b, c = ray_planes(tris)
        planes = torch.stack([*n, *a, *b, c], dim=2 if backend.transposed else 1)
        return cls(planes, intr, k, spec.width, spec.height, backend)

    def resolve(self, f, keys, shading, scene, radiance) -> None:
        """Re-resolve frame f's silhouette pixels in `radiance` ((3, H*W) linear); `shading` is
        the renderer's per-frame shading (planes, light, environment, shadow lookup)."""
        edge, values = self.backend.silhouette_samples(
            self.hit_planes[f], keys, scene.face_part, self.intr, self.k, self.height, self.width,
            shading)
        if edge.numel():
            radiance.index_copy_(1, edge, _mean_of_samples(values, self.k * self.k))


def silhouette_samples(backend: Backend, hit_planes, keys, face_part, intr, k: int, h: int,
                       w: int, shading) -> tuple[torch.Tensor, torch.Tensor]:
    """The silhouette pixels `edge` (E,) of one frame's z-buffer `keys` and the radiance
    (3, E*k*k) of their k x k samples, in PyTorch (`backend.silhouette_samples` runs this or
    the native kernels)."""
    count = k * k
    edge = torch.nonzero(backend.torch(_silhouette)(keys, face_part, h, w)).view(-1)
    if edge.numel() == 0:
        return edge, torch.empty((3, 0), dtype=torch.float32, device=keys.device)
    best, rx, ry = backend.torch(_sample_keys)(hit_planes, keys, edge, intr, k, h, w,
                                               backend.transposed)
    samples = torch.stack([rx, ry, torch.rsqrt((rx * rx + ry * ry) + 1.0)])
    hit = torch.nonzero(best >= 0).view(-1)
    miss = torch.nonzero(best < 0).view(-1)
    values = torch.empty((3, best.numel()), dtype=torch.float32, device=keys.device)
    if miss.numel():  # the backdrop along each missing sample's own ray
        values.index_copy_(1, miss, shading.backdrop_along(take_columns(samples, miss),
                                                           edge, miss // count))
    if hit.numel():
        shaded = shading.faces(best.index_select(0, hit) & FACE_MASK,
                               take_columns(samples, hit))[0]
        values.index_copy_(1, hit, shaded)
    return edge, values


def _mean_of_samples(values: torch.Tensor, count: int) -> torch.Tensor:
    """(3, E) mean of (3, E * count) sample radiance, summed in a fixed order (the same bits
    everywhere)."""
    per_pixel = values.view(3, -1, count)
    total = per_pixel[:, :, 0]
    for i in range(1, count):
        total = total + per_pixel[:, :, i]
    return total * (1.0 / count)


def _silhouette(keys: torch.Tensor, face_part: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(H*W,) bool: pixels whose 3x3 neighbourhood (border replicated) sees another part."""
    covered = keys >= 0
    part = torch.where(covered, face_part.index_select(0, (keys & FACE_MASK) * covered), -1)
    grid = _replicate_pad(part.view(h, w))
    centre = grid[1:1 + h, 1:1 + w]
    mixed = torch.zeros((h, w), dtype=torch.bool, device=keys.device)
    for dy, dx in NEIGHBOURS:
        mixed = mixed | (grid[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] != centre)
    return mixed.view(-1)


def _sample_keys(table, keys, edge, intr, k: int, h: int, w: int, transposed: bool):
    """Key of the nearest face containing each of the k x k samples of each edge pixel, among
    the faces of its 3x3 neighbourhood (else the pixel's own key), and the samples' rays.

    Returns (E*k*k,) int64 keys and float32 rx, ry, samples in (pixel, row, column) order.
    """
    count = k * k
    ey = torch.div(edge, w, rounding_mode="floor")
    ex = edge - ey * w
    fx, fy, cx, cy = intr.unbind(0)
    sub = (torch.arange(k, device=keys.device, dtype=torch.float32) + 0.5) / k
    sx = (ex.to(torch.float32).view(-1, 1, 1) + sub.view(1, 1, k)).expand(-1, k, k)
    sy = (ey.to(torch.float32).view(-1, 1, 1) + sub.view(1, k, 1)).expand(-1, k, k)
    rx = ((sx - cx) / fx).reshape(-1)
    ry = ((sy - cy) / fy).reshape(-1)

    def per_sample(t):
        return t.view(-1, 1).expand(-1, count).reshape(-1)

    best = torch.full_like(rx, -1, dtype=torch.int64)
    for dy, dx in NEIGHBOURS:  # fixed order; max of exact integer keys: order-free anyway
        ny = (ey + dy).clamp(0, h - 1)
        nx = (ex + dx).clamp(0, w - 1)
        cand = per_sample(keys.index_select(0, ny * w + nx))
        best = torch.maximum(best, _sample_key(table, cand, rx, ry, transposed))
    return torch.where(best >= 0, best, per_sample(keys.index_select(0, edge))), rx, ry


def _sample_key(table: torch.Tensor, cand: torch.Tensor, rx, ry, transposed: bool
                ) -> torch.Tensor:
    """z-buffer key of face `cand` at the sample ray (rx, ry, 1) if it contains the sample."""
    valid = cand >= 0
    face = (cand & FACE_MASK) * valid
    p = entries(table, face, transposed)
    det = ray_dot(p, 0, rx, ry)
    u, v = ray_dot(p, 3, rx, ry), ray_dot(p, 6, rx, ry)  # times det
    inside = torch.where(det > 0, (u >= 0) & (v >= 0) & (u + v <= det),
                         (u <= 0) & (v <= 0) & (u + v >= det))
    inverse_depth = det / p[9]
    ok = valid & inside & (det != 0) & (inverse_depth > 0)
    return torch.where(ok, encode_keys(inverse_depth, face), -1)


def _replicate_pad(grid: torch.Tensor) -> torch.Tensor:
    """(h+2, w+2) copy of `grid` with its border repeated (no edges at the frame border)."""
    rows = torch.cat([grid[:1], grid, grid[-1:]])
    return torch.cat([rows[:, :1], rows, rows[:, -1:]], dim=1)
