"""Deferred shading of visible pixels: ray/triangle intersection, textures, Blinn-Phong light.

Per (frame, face), `surface_planes` precomputes vectors X whose dot product with a pixel's ray
r = (rx, ry, 1) gives everything at that pixel up to one common factor 1/det (perspective-correct
interpolation): det = r.n', depth = c/det, normal ~ (r.Mx, r.My, r.Mz), texel coordinates
(r.Us, r.Ut)/det. Data is planar (component, item) so every op runs on contiguous 1-D rows.
Only elementwise +, -, *, /, rsqrt, floor, min/max, copysign, integer ops and gathers: the
same bits for any thread count or batch size (no BLAS, no transcendental functions). Never
`torch.sqrt` on CPU: with MKL it runs Intel VML in its high-accuracy (not correctly rounded)
mode, about 1 result in 5 is off by an ulp, and which ones depends on the CPU's code path;
`torch.rsqrt` is an exact IEEE sqrt followed by an IEEE division on every path.
"""

from __future__ import annotations

import torch

from lightpipe.render.rasterizer import FACE_MASK, Intrinsics, take_columns

# Rows of `surface_planes`; a vector X takes 3 rows (x, y, z).
DET, DEPTH, NORMAL, TEXEL_S, TEXEL_T, TINT, FIRST_TEXEL = 0, 3, 4, 13, 16, 19, 22
NUM_PLANES = 23
TEXTURE_SIZE = 128  # texels per side of every material (a power of two)
SHADOW_BIAS = 0.04  # metres: keeps lit surfaces from shadowing themselves


# Entries of the per-frame light vector (`frame_light`).
LIGHT_DIR, LIGHT_RGB, AMBIENT, SPECULAR, SHININESS = 0, 3, 6, 7, 8
LIGHT_SIZE = 9
MAX_SHININESS = 255


def frame_light(direction, rgb, ambient: float, specular: float, shininess: int,
                device) -> torch.Tensor:
    """(LIGHT_SIZE,) float32: direction towards the light (camera space), color * intensity,
    ambient, specular, shininess (an integer exponent <= MAX_SHININESS). A tensor rather than
    Python floats, so a compiled kernel is traced once, not once per frame."""
    values = [*direction, *rgb, ambient, specular, float(shininess)]
    return torch.tensor(values, dtype=torch.float32, device=device)


def pixel_rays(intr: Intrinsics, width: int, height: int, device) -> torch.Tensor:
    """(3, H*W) per pixel centre: ray x, ray y (z = 1) and 1/|ray|."""
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5 - intr.cx) / intr.fx
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5 - intr.cy) / intr.fy
    rx, ry = xs.expand(height, width), ys.view(-1, 1).expand(height, width)
    inv_len = torch.rsqrt((rx * rx + ry * ry) + 1.0)
    return torch.stack([rx, ry, inv_len]).reshape(3, -1)


def surface_planes(tris: torch.Tensor, normals: torch.Tensor, uvs: torch.Tensor,
                   face_info: torch.Tensor, tex_size: int, rows: bool = False) -> torch.Tensor:
    """(Fc, NUM_PLANES, T) per (frame, face): n', c, Mx, My, Mz, Us, Ut, tint rgb, first texel;
    (Fc, T, NUM_PLANES) when `rows`.

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
    return torch.stack([p.expand(n[0].shape) for p in planes], dim=2 if rows else 1)


def shade_covered(keys, pixel, table, rays, texels, light, shininess, shadow=None,
                  want_normals: bool = False, rows: bool = False):
    """`shade_faces` of the covered pixels `pixel` (flat) of one frame's z-buffer `keys`.

    Returns the pixels' faces, then what `shade_faces` returns.
    """
    face = keys.index_select(0, pixel) & FACE_MASK
    return (face, *shade_faces(table, face, take_columns(rays, pixel), texels, light, shininess,
                               shadow, want_normals, rows))


def shade_faces(table, face, rays, texels, light, shininess, shadow=None,
                want_normals: bool = False, rows: bool = False):
    """8-bit color (N, 3), planar depth (N,) and unit normals (3, N) or None, of N pixels.

    Args:
        table: `surface_planes` of one frame, (NUM_PLANES, T), or its transpose (T, NUM_PLANES)
            when `rows` (one contiguous gather per pixel: what a compiled kernel wants).
        face: (N,) the face seen at each pixel.
        rays: (3, N) from `pixel_rays`.
        texels: (12, M*S*S) from `bilinear_texels`, or its transpose when `rows`.
        light: (LIGHT_SIZE,) from `frame_light`.
        shininess: the light's exponent, as an int or (compiled kernels) as light[SHININESS].
        shadow: optional `(shadow map, parameters)` from `ShadowCaster.lookup` (see `lit`).
    Normals are in camera space, turned towards the camera. Both layouts and both forms of
    `shininess` give the same bits.
    """
    p = table.index_select(0, face).unbind(1) if rows else take_columns(table, face).unbind(0)
    rx, ry, inv_len = rays.unbind(0)

    def dot(i):
        return (rx * p[i] + ry * p[i + 1]) + p[i + 2]

    det = dot(DET)
    det = det + torch.copysign(det.new_full((), 1e-30), det)  # never 0, same sign
    inv_det = torch.reciprocal(det)
    depth = (p[DEPTH] * inv_det).clamp(min=1e-6)
    albedo = _sample(texels, TEXTURE_SIZE, dot(TEXEL_S) * inv_det, dot(TEXEL_T) * inv_det, p[FIRST_TEXEL], rows)

    nx, ny, nz = dot(NORMAL), dot(NORMAL + 3), dot(NORMAL + 6)
    lx, ly, lz = light[LIGHT_DIR], light[LIGHT_DIR + 1], light[LIGHT_DIR + 2]
    # Cosines with the unit normal turned towards the eye e = -ray * inv_len: with
    # facing = +-1/|normal| of the sign of normal.ray, cos(normal, v) = -(normal.v) * facing.
    n_ray = (rx * nx + ry * ny) + nz
    facing = torch.copysign(torch.rsqrt((nx * nx + ny * ny) + nz * nz), n_ray)
    n_light = (nx * -lx + ny * -ly) + nz * -lz  # -(normal.light)
    diffuse = (n_light * facing).clamp(min=0.0)
    if shadow is not None:
        diffuse = diffuse * lit(shadow[0], shadow[1], rx, ry, depth)
    # Blinn-Phong: half vector light + e, |light + e|^2 = 2 + 2 light.e
    light_ray = (rx * lx + ry * ly) + lz
    inv_half_len = torch.rsqrt((2.0 - 2.0 * (light_ray * inv_len)).clamp(min=1e-12))
    cos_half = (((n_light + n_ray * inv_len) * facing) * inv_half_len).clamp(min=0.0)
    highlight = torch.where(diffuse > 0, _power(cos_half, shininess), 0.0)
    ambient = light[AMBIENT] * 255.0
    channels = []
    for c in range(3):
        scale = light[LIGHT_RGB + c] * 255.0
        gain = (diffuse * scale + ambient) * p[TINT + c]
        color = albedo[c] * gain + highlight * (scale * light[SPECULAR])
        channels.append((color + 0.5).clamp(0.0, 255.0).to(torch.uint8))
    rgb = torch.stack(channels, dim=1)
    normals = torch.stack([-nx * facing, -ny * facing, -nz * facing]) if want_normals else None
    return rgb, depth, normals


def lit(shadow_map: torch.Tensor, params: torch.Tensor, rx: torch.Tensor, ry: torch.Tensor,
        depth: torch.Tensor) -> torch.Tensor:
    """1.0 where the camera-space point (rx*d, ry*d, d) sees the light, else 0.0.

    Args:
        shadow_map: (S*S,) 1/depth of the nearest caster seen from the light, 0 where none.
        params: (17,) float32: camera -> light transform (3x4, row-major), then the light
            camera's fx, fy, cx, cy and S (`shadows.ShadowCaster.lookup`).
    """
    px, py, pz = rx * depth, ry * depth, depth
    m = [params[i] for i in range(17)]
    qx = ((m[0] * px + m[1] * py) + m[2] * pz) + m[3]
    qy = ((m[4] * px + m[5] * py) + m[6] * pz) + m[7]
    qz = ((m[8] * px + m[9] * py) + m[10] * pz) + m[11]
    fx, fy, cx, cy, size = m[12:]
    u = torch.floor(qx / qz * fx + cx)
    v = torch.floor(qy / qz * fy + cy)
    inside = (u >= 0) & (u < size) & (v >= 0) & (v < size)
    last = size - 1.0
    index = (torch.minimum(u.clamp(min=0.0), last)
             + torch.minimum(v.clamp(min=0.0), last) * size).long()
    occluder = shadow_map.index_select(0, index)
    shadowed = inside & (occluder * (qz - SHADOW_BIAS) > 1.0)
    return torch.where(shadowed, 0.0, 1.0)


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


def _sample(texels, size: int, x, y, first_texel, rows: bool = False) -> list[torch.Tensor]:
    """Bilinear, wrapping lookup [r, g, b] at texel coordinates (x, y) (texel centres at
    integers) of `bilinear_texels` of `size` (a power of two; transposed when `rows`)."""
    x, y = x.clamp(-1e6, 1e6), y.clamp(-1e6, 1e6)
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    mask = size - 1  # the size is a power of two: & wraps negative coordinates too
    index = ((x0.long() & mask) + (y0.long() & mask) * size) + first_texel.long()
    q = texels.index_select(0, index).unbind(1) if rows else take_columns(texels, index).unbind(0)
    return [(q[c] + q[3 + c] * fx) + (q[6 + c] + q[9 + c] * fx) * fy for c in range(3)]


def _power(x: torch.Tensor, exponent) -> torch.Tensor:
    """x ** exponent by repeated multiplication, for an int exponent or a float tensor holding
    one (<= MAX_SHININESS): the same bits either way (the tensor form starts from 1.0 * x)."""
    if isinstance(exponent, int):
        result, base, e = None, x, exponent
        while e:
            if e & 1:
                result = base if result is None else result * base
            base, e = base * base, e >> 1
        return torch.ones_like(x) if result is None else result
    bits = exponent.to(torch.int64)
    result, base = torch.ones_like(x), x
    for i in range(MAX_SHININESS.bit_length()):
        result = torch.where(((bits >> i) & 1) == 1, result * base, result)
        base = base * base
    return result


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
