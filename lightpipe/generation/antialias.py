"""Silhouette anti-aliasing: re-shade only pixels whose k x k samples see different parts."""

from __future__ import annotations

import torch

from lightpipe.generation.rasterizer import (
    FACE_MASK,
    Intrinsics,
    rasterize,
    take_columns,
)
from lightpipe.generation.scene import TEXTURE_SIZE
from lightpipe.generation.shading import pixel_rays, shade_pixels


class SilhouetteAntialiasing:
    """Silhouette anti-aliasing: a k-times finer z-buffer finds pixels whose samples see
    different parts (or sky); only those are re-shaded per sample and averaged (integer sums).
    Interior pixels, depth, segmentation and normals are untouched."""

    def __init__(self, keys, rays, part, k, width, height) -> None:
        self.keys, self.rays, self.part, self.k = keys, rays, part, k
        self.width, self.height = width, height

    @classmethod
    def create(cls, tris, intr, spec, k, max_candidates) -> SilhouetteAntialiasing:
        fine = Intrinsics(intr.fx * k, intr.fy * k, intr.cx * k, intr.cy * k)
        keys = rasterize(tris, fine, spec.width * k, spec.height * k, spec.camera.near,
                         max_candidates)
        rays = pixel_rays(fine, spec.width * k, spec.height * k, tris.device)
        return cls(keys, rays, None, k, spec.width, spec.height)

    def resolve(self, f, planes, backdrop, scene, light, visibility, rgb) -> None:
        k, w, h = self.k, self.width, self.height
        keys = self.keys[f].view(-1)
        part = torch.where(keys >= 0, scene.face_part.index_select(0, (keys & FACE_MASK)
                                                                   * (keys >= 0)), -1)
        grid = part.view(h, k, w, k)
        first = grid[:, 0, :, 0]
        mixed = torch.zeros((h, w), dtype=torch.bool, device=keys.device)
        for i in range(k):  # elementwise over (h, w) planes: far faster than a small-dim reduce
            for j in range(k):
                if i or j:
                    mixed |= grid[:, i, :, j] != first
        edge = torch.nonzero(mixed.view(-1)).view(-1)
        if edge.numel() == 0:
            return
        ey, ex = torch.div(edge, w, rounding_mode="floor"), edge % w
        offsets = torch.arange(k, device=keys.device)
        sy = (ey.view(-1, 1, 1) * k + offsets.view(1, k, 1)).expand(-1, k, k)
        sx = (ex.view(-1, 1, 1) * k + offsets.view(1, 1, k)).expand(-1, k, k)
        sample = (sy * (w * k) + sx).reshape(-1)  # (E*k*k,) sample indices, fixed order
        colors = backdrop.index_select(0, edge.repeat_interleave(k * k)).to(torch.int32)
        sample_keys = keys.index_select(0, sample)
        hit = torch.nonzero(sample_keys >= 0).view(-1)
        if hit.numel():
            rays = take_columns(self.rays, sample.index_select(0, hit))
            block_visibility = None if visibility is None else \
                (lambda d, r=rays: visibility(r[0], r[1], d))
            shaded = shade_pixels(take_columns(planes, sample_keys.index_select(0, hit)
                                               & FACE_MASK), rays, scene.texels, TEXTURE_SIZE,
                                  light, block_visibility)[0]
            colors.index_copy_(0, hit, shaded.to(torch.int32))
        total = colors.view(-1, k * k, 3).sum(dim=1)  # integers: exact in any order
        mean = torch.div(total + (k * k) // 2, k * k, rounding_mode="floor").to(torch.uint8)
        rgb.view(-1, 3).index_copy_(0, edge, mean)
