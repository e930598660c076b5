"""Depth, normals and segmentation of a frame's covered pixels without shading them: what the
frame pass draws when its colour comes from elsewhere (motion blur's sub-frames).

The same terms as `shading.shade_faces` (`surface_depth`, `geometric_normal`), run eagerly: the
reference's bits, which every backend's shading reproduces.
"""

from __future__ import annotations

import torch

from lightpipe.render.backend import PIXEL_BLOCK
from lightpipe.render.shading import NORMAL, geometric_normal, surface_depth
from lightpipe.render.zbuffer import FACE_MASK, entries

_GEOMETRY_PLANES = NORMAL + 9  # the rows of `surface_planes` read here: DET .. NORMAL + 8


def surface_frame(keys, planes, rays, face_part, outputs, transposed: bool) -> None:
    """One frame's (H*W,) z-buffer keys into `outputs`: depth (0 where there is no surface),
    and segmentation and normals where asked for (left as they are where there is none).

    Args:
        planes: the frame's `surface_planes`, transposed when `transposed`.
        rays: (3, H*W) from `shading.pixel_rays`.
    """
    table = planes[:, :_GEOMETRY_PLANES] if transposed else planes[:_GEOMETRY_PLANES]
    depth = outputs.depth.view(-1)
    depth.zero_()
    covered = torch.nonzero(keys >= 0).view(-1)
    for pixel in covered.split(PIXEL_BLOCK):
        face = keys.index_select(0, pixel) & FACE_MASK
        p = entries(table, face, transposed)
        rx, ry = rays[0].index_select(0, pixel), rays[1].index_select(0, pixel)
        depth.index_copy_(0, pixel, surface_depth(p, rx, ry)[1])
        if outputs.normals is not None:
            outputs.normals.view(-1, 3).index_copy_(
                0, pixel, torch.stack(geometric_normal(p, rx, ry), dim=1))
        if outputs.segmentation is not None:  # 1 + part: 1 ground, 2 + k object k
            ids = face_part.index_select(0, face) + 1
            outputs.segmentation.view(-1).index_copy_(0, pixel, ids.to(torch.int32))
