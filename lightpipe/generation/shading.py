"""Deferred shading of visible pixels: ray/triangle intersection, textures, Blinn-Phong light.

Per (frame, face), `surface_planes` precomputes vectors X whose dot product with a pixel's ray
r = (rx, ry, 1) gives everything at that pixel up to one common factor 1/det (perspective-correct
interpolation): det = r.n', depth = c/det, normal ~ (r.Mx, r.My, r.Mz), texel coordinates
(r.Us, r.Ut)/det. Data is planar (component, item) so every op runs on contiguous 1-D rows.
Only elementwise +, -, *, /, sqrt, floor, min/max, copysign, integer ops and gathers: the
same bits for any thread count or batch size (no BLAS, no transcendental functions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightpipe.generation.rasterizer import EMPTY, Intrinsics, key_faces, take_columns

# Rows of `surface_planes`; a vector X takes 3 rows (x, y, z).
DET, DEPTH, NORMAL, TEXEL_S, TEXEL_T, TINT, FIRST_TEXEL = 0, 3, 4, 13, 16, 19, 22
NUM_PLANES = 23


@dataclass(frozen=True)
class Surface:
    """Geometry of the visible surface at covered pixels (flattened over frames)."""

    pixel: torch.Tensor  # (N,) flat index into (Fc*H*W)
    frame: torch.Tensor  # (N,) frame within the chunk
    face: torch.Tensor  # (N,)
    depth: torch.Tensor  # (N,) planar z in metres
    bary: torch.Tensor  # (N,3)
    ray: torch.Tensor  # (N,3) camera ray with z = 1


@dataclass(frozen=True)
class FrameLight:
    """One frame's light as plain numbers: direction towards the light in camera space."""

    direction: tuple[float, float, float]
    rgb: tuple[float, float, float]  # color * intensity
    ambient: float
    specular: float
    shininess: int


def pixel_rays(intr: Intrinsics, width: int, height: int, device) -> torch.Tensor:
    """(3, H*W) per pixel centre: ray x, ray y (z = 1) and 1/|ray|."""
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5 - intr.cx) / intr.fx
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5 - intr.cy) / intr.fy
    rx, ry = xs.expand(height, width), ys.view(-1, 1).expand(height, width)
    inv_len = 1.0 / torch.sqrt((rx * rx + ry * ry) + 1.0)
    return torch.stack([rx, ry, inv_len]).reshape(3, -1)


def surface_planes(tris: torch.Tensor, normals: torch.Tensor, uvs: torch.Tensor,
                   face_info: torch.Tensor, tex_size: int) -> torch.Tensor:
    """(Fc, NUM_PLANES, T) per (frame, face): n', c, Mx, My, Mz, Us, Ut, tint rgb, first texel.

    Args:
        tris, normals: camera-space vertex positions / normals (Fc, T, 3 vertices, 3).
        uvs: texture coordinates (T, 3 vertices, 2).
        face_info: (4, T) tint rgb and first texel index of the face's material.
    """
    n, a, b, c = ray_planes(tris)
    planes = [*n, c]
    for k in range(3):  # normal * det = n0 (r.n') + (n1 - n0)(r.a) + (n2 - n0)(r.b)
        n0, n1, n2 = normals[..., 0, k], normals[..., 1, k], normals[..., 2, k]
        planes += _combine(n0, n1 - n0, n2 - n0, n, a, b)
    for k in range(2):  # texel coordinate * det, with the -0.5 of texel centres folded in
        t0, t1, t2 = (uvs[:, i, k] * tex_size for i in range(3))
        planes += _combine(t0 - 0.5, t1 - t0, t2 - t0, n, a, b)
    planes += list(face_info)
    return torch.stack([p.expand(n[0].shape) for p in planes], dim=1)


def shade_pixels(planes: torch.Tensor, rays: torch.Tensor, texels: torch.Tensor, tex_size: int,
                 light: FrameLight, visibility=None, want_normals: bool = False):
    """8-bit color (N, 3), planar depth (N,) and, if asked, unit normals (3, N) of covered pixels.

    Args:
        planes: (NUM_PLANES, N) `surface_planes` of each pixel's face.
        rays: (3, N) from `pixel_rays`.
        texels: (12, M*S*S) from `bilinear_texels`.
        visibility: optional callable depth -> (N,) 1.0 lit / 0.0 in shadow of the key light.
    Normals are in camera space, turned towards the camera.
    """
    rx, ry, inv_len = rays.unbind(0)
    p = planes.unbind(0)

    def dot(i):
        return (rx * p[i] + ry * p[i + 1]) + p[i + 2]

    det = dot(DET)
    det = det + torch.copysign(det.new_full((), 1e-30), det)  # never 0, same sign
    inv_det = torch.reciprocal(det)
    depth = (p[DEPTH] * inv_det).clamp(min=1e-6)
    albedo = _sample(texels, tex_size, dot(TEXEL_S) * inv_det, dot(TEXEL_T) * inv_det,
                     p[FIRST_TEXEL])

    nx, ny, nz = dot(NORMAL), dot(NORMAL + 3), dot(NORMAL + 6)
    lx, ly, lz = light.direction
    # Cosines with the unit normal turned towards the eye e = -ray * inv_len: with
    # facing = +-1/|normal| of the sign of normal.ray, cos(normal, v) = -(normal.v) * facing.
    n_ray = (rx * nx + ry * ny) + nz
    facing = torch.copysign(torch.reciprocal(torch.sqrt((nx * nx + ny * ny) + nz * nz)), n_ray)
    n_light = (nx * -lx + ny * -ly) + nz * -lz  # -(normal.light)
    diffuse = (n_light * facing).clamp(min=0.0)
    if visibility is not None:
        diffuse = diffuse * visibility(depth)
    scale = 255.0 * torch.tensor(light.rgb, dtype=diffuse.dtype, device=diffuse.device)
    gain = (diffuse * scale.view(3, 1) + 255.0 * light.ambient) * planes[TINT:TINT + 3]
    color = albedo * gain
    if light.specular > 0:  # half vector light + e: |light + e|^2 = 2 + 2 light.e
        light_ray = (rx * lx + ry * ly) + lz
        half_len = torch.sqrt((2.0 - 2.0 * (light_ray * inv_len)).clamp(min=1e-12))
        cos_half = (((n_light + n_ray * inv_len) * facing) / half_len).clamp(min=0.0)
        highlight = torch.where(diffuse > 0, _power(cos_half, light.shininess), 0.0)
        color = color + highlight * (scale * light.specular).view(3, 1)
    rgb = (color + 0.5).clamp(0.0, 255.0).to(torch.uint8)
    if want_normals:
        return rgb.t(), depth, torch.stack([-nx * facing, -ny * facing, -nz * facing])
    return rgb.t(), depth


def bilinear_texels(textures: torch.Tensor) -> torch.Tensor:
    """(12, M*S*S) per texel (x, y): c00, c01 - c00, c10 - c00, c11 - c10 - c01 + c00 (rgb each),
    with c01 the texel to the right and c10 the one below, wrapping around."""
    c00 = textures
    c01 = torch.roll(textures, -1, dims=2)
    c10 = torch.roll(textures, -1, dims=1)
    c11 = torch.roll(c10, -1, dims=2)
    quad = torch.cat([c00, c01 - c00, c10 - c00, (c11 - c10) - (c01 - c00)], dim=3)
    return quad.reshape(-1, 12).t().contiguous()


def background_rows(top_color, bottom_color, height: int, device) -> torch.Tensor:
    """Vertical gradient (H, 3) uint8 from `top_color` (row 0) to `bottom_color`."""
    rows = torch.arange(height, device=device, dtype=torch.float32)
    t = ((rows + 0.5) / height).view(-1, 1)
    top = torch.tensor(top_color, device=device, dtype=torch.float32)
    bottom = torch.tensor(bottom_color, device=device, dtype=torch.float32)
    column = top + (bottom - top) * t
    return torch.floor(column * 255.0 + 0.5).to(torch.uint8)


def visible_surface(keys: torch.Tensor, cam_tris: torch.Tensor, intr: Intrinsics) -> Surface:
    """Intersect each covered pixel's ray with its visible triangle (all frames at once)."""
    num_frames, height, width = keys.shape
    flat = keys.reshape(-1)
    pixel = torch.nonzero(flat != EMPTY).flatten()
    face = key_faces(flat.index_select(0, pixel))
    frame = torch.div(pixel, height * width, rounding_mode="floor")
    rays = take_columns(pixel_rays(intr, width, height, keys.device),
                        pixel - frame * (height * width))
    n, a, b, c = ray_planes(cam_tris)
    index = frame * cam_tris.shape[1] + face
    rx, ry = rays[0], rays[1]

    def dot(v):
        v = [t.reshape(-1).index_select(0, index) for t in v]
        return (rx * v[0] + ry * v[1]) + v[2]

    det = dot(n)
    det = torch.where(det == 0, torch.full_like(det, 1e-20), det)
    u = (dot(a) / det).clamp(0.0, 1.0)
    v = torch.minimum((dot(b) / det).clamp(min=0.0), 1.0 - u)
    depth = c.reshape(-1).index_select(0, index) / det
    return Surface(pixel=pixel, frame=frame, face=face, depth=depth.clamp(min=1e-6),
                   bary=torch.stack([1.0 - u - v, u, v], dim=1),
                   ray=torch.stack([rx, ry, torch.ones_like(rx)], dim=1))


def ray_planes(tris: torch.Tensor):
    """Moller-Trumbore with the ray as the only per-pixel input: for r = (rx, ry, 1),
    det = r.n', u = r.a / det, v = r.b / det, depth = c / det (lists of components)."""
    v0 = [tris[..., 0, k] for k in range(3)]
    e1 = [tris[..., 1, k] - v0[k] for k in range(3)]
    e2 = [tris[..., 2, k] - v0[k] for k in range(3)]
    n = _cross(e2, e1)
    c = (v0[0] * n[0] + v0[1] * n[1]) + v0[2] * n[2]
    return n, _cross(v0, e2), _cross(e1, v0), c


def _combine(s0, s1, s2, n, a, b):
    """Components of s0 n' + s1 a + s2 b."""
    return [(s0 * n[k] + s1 * a[k]) + s2 * b[k] for k in range(3)]


def _sample(texels, size, x, y, first_texel) -> torch.Tensor:
    """Bilinear, wrapping lookup (3, N) at texel coordinates (x, y) (texel centres at integers)."""
    x, y = x.clamp(-1e6, 1e6), y.clamp(-1e6, 1e6)
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    mask = size - 1  # the size is a power of two: & wraps negative coordinates too
    index = (x0.long() & mask) + (y0.long() & mask) * size
    quad = take_columns(texels, index + first_texel.long())
    c00, d01, d10, d11 = quad[0:3], quad[3:6], quad[6:9], quad[9:12]
    return (c00 + d01 * fx) + (d10 + d11 * fx) * fy


def _power(x: torch.Tensor, exponent: int) -> torch.Tensor:
    """x ** exponent by repeated multiplication (exact same bits on every path)."""
    result, base, e = None, x, exponent
    while e:
        if e & 1:
            result = base if result is None else result * base
        base, e = base * base, e >> 1
    return torch.ones_like(x) if result is None else result


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
