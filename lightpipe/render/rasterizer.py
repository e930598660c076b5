"""Scanline triangle rasterization into an exact integer z-buffer (no float atomics).

A triangle covers, on each pixel row whose centre `cy` lies in [y_top, y_bottom), the pixels
whose centre `cx` lies in [x_left(cy), x_right(cy)). Every edge's crossing with a row is computed
from its endpoints in a canonical (top-to-bottom) order, so two triangles that share an edge get
bit-identical crossings and split each row exactly there: no gaps, no double coverage and no
per-pixel inside test. Each covered pixel gets an int64 key `(float32 bits of 1/z) << 32 | face`;
`scatter_reduce` amax keeps the nearest surface (ties: the higher face), so the result does not
depend on evaluation order, chunking or threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from lightpipe.render.zbuffer import EMPTY, Intrinsics, encode_keys, take_columns

if TYPE_CHECKING:
    from lightpipe.render.backend import Backend

MAX_CHUNK = 1 << 22  # fragments per chunk: well below 2**24, so float offsets are exact
CPU_CHUNK = 1 << 18  # on CPU: small enough that temporaries recycle heap memory (no page faults)
ROWS_PER_FRAGMENT = 8  # a pixel run (row) costs about as much memory as 8 fragments


def rasterize(tris: torch.Tensor, intr: Intrinsics, width: int, height: int, near: float,
              max_candidates: int, backend: Backend) -> torch.Tensor:
    """Visible face per pixel for a chunk of frames, in PyTorch (`backend.fill_zbuffer` runs
    this or the native fill of the same `scanline_setup`).

    Args:
        tris: camera-space triangles (Fc, T, 3, 3) (frame, face, vertex, xyz), OpenCV axes.
        max_candidates: most fragments (covered pixels, before depth test) handled at once.
    Returns:
        int64 keys (Fc, H, W): `(float32 bits of 1/depth) << 32 | face`, or EMPTY.
    """
    zbuf = torch.full((tris.shape[0] * height * width,), EMPTY, dtype=torch.int64,
                      device=tris.device)
    for pixel, key in fragments(tris, intr, width, height, near, max_candidates, backend):
        zbuf.scatter_reduce_(0, pixel, key, reduce="amax")
    return zbuf.view(tris.shape[0], height, width)


def fragments(tris: torch.Tensor, intr: Intrinsics, width: int, height: int, near: float,
              max_candidates: int, backend: Backend) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Covered pixels as chunks of (flat index into (Fc*H*W), key).

    Chunks hold at most about `max_candidates` fragments (one run of pixels may exceed it), so
    memory stays bounded; the fragments themselves do not depend on the chunking.
    """
    cap = CPU_CHUNK if tris.device.type == "cpu" else MAX_CHUNK
    budget = max(1, min(max_candidates, cap))
    setup = scanline_setup(tris, intr, width, height, near, backend)
    row_ends = torch.cumsum(setup.num_rows, 0)
    for tri_slice in _chunks(row_ends, max(1, budget // ROWS_PER_FRAGMENT)):
        runs = _spans(setup, row_ends, tri_slice, width, height, backend)
        pixel_ends = torch.cumsum(runs.width, 0)
        for run_slice in _chunks(pixel_ends, budget):
            yield _span_fragments(runs, pixel_ends, run_slice, backend)


@dataclass(frozen=True)
class _Setup:
    """Per screen triangle, vertices sorted by y: top (x0,y0), middle (x1,y1), bottom."""

    coef: torch.Tensor  # (10, N): x0 y0 x1 y1, slopes 01 12 02, 1/z at top, d(1/z)/dx, d(1/z)/dy
    first_row: torch.Tensor  # (N,) int64 index of the first row over all frames (frame*H + y)
    num_rows: torch.Tensor  # (N,) int64
    face: torch.Tensor  # (N,) int32


@dataclass(frozen=True)
class _Spans:
    """Pixel runs, one per (triangle, row)."""

    width: torch.Tensor  # (R,) int64 pixels in the run (may be 0)
    pixel: torch.Tensor  # (R,) int64 flat index of the run's first pixel
    inv_z: torch.Tensor  # (R,) float32 1/z at the first pixel's centre
    step: torch.Tensor  # (R,) float32 d(1/z)/dx
    face: torch.Tensor  # (R,) int32


def scanline_setup(tris, intr, width, height, near, backend: Backend) -> _Setup:
    """Cull back faces, clip at the near plane, project, sort vertices by y, drop the triangles
    that cover no pixel centre row or lie beside the screen."""
    num_faces = tris.shape[1]
    # Planar (vertex, xyz, item): free when `tris` is a permuted view of such a tensor.
    v = tris.permute(2, 3, 0, 1).reshape(3, 3, -1)
    item = torch.nonzero(backend.torch(_visible)(v, near)).view(-1)
    v = take_columns(v, item)
    crossing = torch.minimum(torch.minimum(v[0, 2], v[1, 2]), v[2, 2]) < near
    if bool(crossing.any()):
        inside, outside = torch.nonzero(~crossing).view(-1), torch.nonzero(crossing).view(-1)
        clipped, parent = _clip_near(take_columns(v, outside).permute(2, 0, 1), near)
        v = torch.cat([take_columns(v, inside), clipped.permute(1, 2, 0)], dim=2)
        item = torch.cat([item.index_select(0, inside),
                          item.index_select(0, outside).index_select(0, parent)])
    screen = torch.tensor([intr.fx, intr.fy, intr.cx, intr.cy, width, height],
                          dtype=torch.float32, device=v.device)
    coef, first, num_rows, usable = backend.torch(_project)(v, screen)
    usable = torch.nonzero(usable).view(-1)
    item = item.index_select(0, usable)
    frame = torch.div(item, num_faces, rounding_mode="floor")
    return _Setup(coef=take_columns(coef, usable),
                  first_row=frame * height + first.index_select(0, usable),
                  num_rows=num_rows.index_select(0, usable),
                  face=(item - frame * num_faces).to(torch.int32))


def _visible(v: torch.Tensor, near: float) -> torch.Tensor:
    """(N,) bool: front-facing triangles (planar (vertex, xyz, N)) reaching z >= near."""
    return _front_facing(v) & (torch.maximum(torch.maximum(v[0, 2], v[1, 2]), v[2, 2]) >= near)


def _project(v: torch.Tensor, screen: torch.Tensor):
    """Scanline coefficients (10, N) of camera-space triangles v (vertex, xyz, N), their first
    row and row count (int64), and whether they are usable (cover a row, touch the screen).

    Args:
        screen: (6,) float32 fx, fy, cx, cy, width, height.
    """
    fx, fy, cx, cy, width, height = screen.unbind(0)
    inv_z = torch.reciprocal(v[:, 2])
    sx = v[:, 0] * inv_z * fx + cx
    sy = v[:, 1] * inv_z * fy + cy
    (x0, x1, x2), (y0, y1, y2), (z0, z1, z2) = _sort_by_y(sx, sy, inv_z)
    cross = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    # 1/z is affine in screen space: solve its gradient from the two edges leaving the top.
    dzdx = ((z1 - z0) * (y2 - y0) - (z2 - z0) * (y1 - y0)) / cross
    dzdy = ((x1 - x0) * (z2 - z0) - (x2 - x0) * (z1 - z0)) / cross
    first = torch.minimum(torch.ceil(y0 - 0.5).clamp(min=0.0), height)
    stop = torch.minimum(torch.ceil(y2 - 0.5).clamp(min=0.0), height)
    on_screen = (torch.maximum(torch.maximum(x0, x1), x2) > 0) \
        & (torch.minimum(torch.minimum(x0, x1), x2) < width)
    usable = torch.isfinite(dzdx) & torch.isfinite(dzdy) & (stop > first) & on_screen
    coef = torch.stack([x0, y0, x1, y1, (x1 - x0) / (y1 - y0), (x2 - x1) / (y2 - y1),
                        (x2 - x0) / (y2 - y0), z0, dzdx, dzdy])
    first = first.long()
    return coef, first, stop.long() - first, usable


def _sort_by_y(x, y, z):
    """Each triangle's vertices (rows of the (3, N) inputs) in increasing y (stable)."""
    above_01, above_02, above_12 = y[0] > y[1], y[0] > y[2], y[1] > y[2]
    rank = torch.stack([above_01.long() + above_02.long(),
                        (~above_01).long() + above_12.long(),
                        (~above_02).long() + (~above_12).long()])
    rank = rank.unsqueeze(0).expand(3, 3, -1)
    points = torch.stack([x, y, z])  # (xyz, vertex, N)
    return torch.empty_like(points).scatter_(1, rank, points).unbind(0)


def _spans(setup: _Setup, row_ends: torch.Tensor, tri_slice: slice, width: int, height: int,
           backend: Backend) -> _Spans:
    """Clip every row of the triangles in `tri_slice` to its covered run of pixels
    (`row_ends`: cumulative sum of `setup.num_rows`)."""
    num_rows = setup.num_rows[tri_slice]
    tri = torch.repeat_interleave(num_rows)
    starts = _starts(row_ends, num_rows, tri_slice)
    coef = setup.coef[:, tri_slice].contiguous()  # a view's strides would be traced
    return _Spans(*backend.torch(_span_runs)(tri, setup.first_row[tri_slice] - starts, coef,
                                       setup.face[tri_slice], width, height))


def _span_runs(tri, row_base, coef, face, width: int, height: int):
    """Width, first pixel, 1/z there, d(1/z)/dx and face of the run on each row `tri` covers
    (row i of the slice is row_base[tri[i]] + i)."""
    row = torch.arange(tri.numel(), device=tri.device) + row_base.index_select(0, tri)
    x0, y0, x1, y1, s01, s12, s02, z0, dzdx, dzdy = take_columns(coef, tri).unbind(0)
    cy = torch.remainder(row, height).to(x0.dtype) + 0.5
    dy = cy - y0
    x_long = x0 + dy * s02
    x_short = torch.where(cy < y1, x0 + dy * s01, x1 + (cy - y1) * s12)
    # Ordering the two crossings by value (not by the triangle's orientation) can only make
    # rounding-thin rows overlap a neighbour, never leave a gap.
    lo = torch.ceil(torch.minimum(x_long, x_short) - 0.5).clamp(0, width)
    hi = torch.ceil(torch.maximum(x_long, x_short) - 0.5).clamp(0, width)
    inv_z = (z0 + dzdy * dy) + dzdx * ((lo + 0.5) - x0)
    return ((hi - lo).clamp(min=0).long(), row * width + lo.long(), inv_z, dzdx,
            face.index_select(0, tri))


def _span_fragments(rows: _Spans, pixel_ends: torch.Tensor, row_slice: slice,
                    backend: Backend) -> tuple[torch.Tensor, torch.Tensor]:
    """One fragment per pixel of the runs in `row_slice`: 1/z steps linearly along a run
    (`pixel_ends`: cumulative sum of `rows.width`)."""
    widths = rows.width[row_slice]
    run = torch.repeat_interleave(widths)
    starts = _starts(pixel_ends, widths, row_slice)
    return backend.torch(_run_fragments)(run, starts, rows.pixel[row_slice],
                                         rows.inv_z[row_slice], rows.step[row_slice],
                                         rows.face[row_slice])


def _run_fragments(run, starts, pixel, inv_z, step, face):
    """Flat pixel index and key `(bits of 1/z) << 32 | face` of each fragment (of run `run`)."""
    offset = torch.arange(run.numel(), device=run.device)
    flat = offset + (pixel - starts).index_select(0, run)
    along = offset.to(torch.float32) - starts.to(torch.float32).index_select(0, run)  # < 2**24
    inverse_depth = inv_z.index_select(0, run) + step.index_select(0, run) * along
    return flat, encode_keys(inverse_depth, face.index_select(0, run))


def _front_facing(v: torch.Tensor) -> torch.Tensor:
    """Counter-clockwise faces whose normal points towards the camera at the origin.

    Args:
        v: planar triangles (vertex, xyz, N).
    """
    e1, e2 = v[1] - v[0], v[2] - v[0]
    nx = e1[1] * e2[2] - e1[2] * e2[1]
    ny = e1[2] * e2[0] - e1[0] * e2[2]
    nz = e1[0] * e2[1] - e1[1] * e2[0]
    return (nx * v[0, 0] + ny * v[0, 1]) + nz * v[0, 2] < 0


def _clip_near(tris: torch.Tensor, near: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Clip triangles against z = near (Sutherland-Hodgman), fan the polygons into triangles.

    An edge's crossing point is computed from its inside endpoint towards its outside one, so
    the two triangles sharing an edge get the same bits. Returns the sub-triangles (N,3,3) and
    the index of their parent triangle.
    """
    n = tris.shape[0]
    points, valid = [], []
    for i in range(3):
        a, b = tris[:, i], tris[:, (i + 1) % 3]
        a_in = (a[:, 2] >= near).unsqueeze(1)
        inner, outer = torch.where(a_in, a, b), torch.where(a_in, b, a)
        d_in, d_out = inner[:, 2] - near, outer[:, 2] - near
        t = (d_in / torch.where(d_in == d_out, torch.ones_like(d_in), d_in - d_out)).unsqueeze(1)
        hit = inner + (outer - inner) * t
        hit = torch.cat([hit[:, :2], torch.full_like(hit[:, 2:], near)], dim=1)
        da, db = a[:, 2] - near, b[:, 2] - near
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


def _chunks(ends: torch.Tensor, budget: int) -> list[slice]:
    """Consecutive ranges of items whose counts sum to about `budget` (one item may exceed it).

    Args:
        ends: (N,) cumulative sum of the items' counts.
    """
    if ends.numel() == 0:
        return []
    total = int(ends[-1])
    marks = torch.arange(budget, max(budget, total), budget, device=ends.device,
                         dtype=ends.dtype)
    cuts = torch.searchsorted(ends, marks, right=True).tolist()
    bounds = sorted({0, *[c for c in cuts if 0 < c < ends.numel()], ends.numel()})
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _starts(ends: torch.Tensor, counts: torch.Tensor, part: slice) -> torch.Tensor:
    """Where each item of `part` starts within the part, from the cumulative `ends` of all."""
    base = ends[part.start - 1] if part.start else 0
    return ends[part] - counts - base
