"""Deferred PBR shading of visible pixels: ray/triangle intersection, material maps, the sun
(GGX), image-based light (spherical-harmonic irradiance, mip-filtered reflections) and soft
shadows, in linear radiance.

Per (frame, face), `surface_planes` precomputes vectors X whose dot product with a pixel's ray
r = (rx, ry, 1) gives everything at that pixel up to one common factor 1/det (perspective-correct
interpolation): det = r.n', depth = c/det, normal ~ (r.Mx, r.My, r.Mz), texel coordinates
(r.Us, r.Ut)/det; the face's tangent frame and material parameters are constants. Data is
planar (component, item) so every op runs on contiguous 1-D rows.

Only elementwise +, -, *, /, rsqrt, floor, min/max, copysign, comparisons, integer ops and
gathers: the same bits for any thread count or batch size (no BLAS, no transcendental functions:
powers are products, tables replace exp and log). Never `torch.sqrt` on CPU: with MKL it runs
Intel VML in its high-accuracy (not correctly rounded) mode, about 1 result in 5 is off by an
ulp, and which ones depends on the CPU's code path; `torch.rsqrt` is an exact IEEE sqrt
followed by an IEEE division on every path.

The material model is glTF's metallic-roughness: base colour, roughness, metalness, a tangent-
space normal map. Sun: Cook-Torrance with GGX, Smith-Schlick visibility and Schlick's Fresnel,
times the (variance) shadow map. Environment: Lambert irradiance from order-2 harmonics, and
split-sum reflections (mip level from roughness, Karis' analytic environment BRDF) with
multiple-scattering compensation, so a white furnace returns its radiance.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from lightpipe.render import environment as env_light
from lightpipe.render import exact_math, ground_reflection, look
from lightpipe.render.look import (  # noqa: F401 - the layout, also importable from here
    AMBIENT_SCALE,
    BITANGENT,
    CHANNELS,
    DEPTH,
    DET,
    EXP_TABLE_SIZE,
    FACE_INFO_ROWS,
    GROUND,
    INV_FX,
    INV_FY,
    LIGHT_SIZE,
    LOD_SCALE,
    MATERIAL,
    METAL_OVERRIDE,
    NORMAL,
    NUM_PLANES,
    PROJECTED,
    ROUGHNESS_SCALE,
    SHADOW_DEPTH_OFFSET,
    SHADOW_INTRINSICS,
    SHADOW_MAP_SIZE,
    SHADOW_TO_LIGHT,
    SUN_DIR,
    SUN_RGB,
    TANGENT,
    TEXEL_S,
    TEXEL_T,
    TINT,
)
from lightpipe.render import textures as texture_maps
from lightpipe.render.occlusion import ambient_occlusion
from lightpipe.render.zbuffer import FACE_MASK, Intrinsics, entries, take_columns

# The look's values (MIN_ROUGHNESS, SHADOW_BIAS, ...) are read from `look` at call time, so
# that both kernel paths follow the one table.


def frame_light(direction, sun_rgb, ambient_scale: float, levels: int, intr, device
                ) -> torch.Tensor:
    """(LIGHT_SIZE,) float32: direction towards the sun (camera space), its irradiance (rgb),
    the environment's scale, the mip level of roughness 1 (levels - 1) and 1/fx, 1/fy of the
    camera `intr` (texture footprints). A tensor rather than Python floats, so a compiled kernel
    is traced once, not once per frame."""
    values = [*direction, *sun_rgb, ambient_scale, float(levels - 1), 1.0 / intr.fx,
              1.0 / intr.fy]
    return torch.tensor(values, dtype=torch.float32, device=device)


def environment_brdf_table(device) -> torch.Tensor:
    """(2, EXP_TABLE_SIZE) float32: exp2(KARIS_EXP2 NoV) at NoV = i / (EXP_TABLE_SIZE - 1),
    and its step to the next entry."""
    nov = np.arange(EXP_TABLE_SIZE, dtype=np.float64) / (EXP_TABLE_SIZE - 1)
    values = exact_math.exp(look.KARIS_EXP2 * math.log(2.0) * nov)
    steps = np.append(values[1:] - values[:-1], 0.0)
    return torch.tensor(np.stack([values, steps]), dtype=torch.float32, device=device)


def pixel_rays(intr: Intrinsics, width: int, height: int, device) -> torch.Tensor:
    """(3, H*W) per pixel centre: ray x, ray y (z = 1) and 1/|ray|."""
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5 - intr.cx) / intr.fx
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5 - intr.cy) / intr.fy
    rx, ry = xs.expand(height, width), ys.view(-1, 1).expand(height, width)
    inv_len = torch.rsqrt((rx * rx + ry * ry) + 1.0)
    return torch.stack([rx, ry, inv_len]).reshape(3, -1)


def surface_planes(tris: torch.Tensor, normals: torch.Tensor, uvs: torch.Tensor,
                   face_info: torch.Tensor, tex_size: torch.Tensor, transposed: bool = False
                   ) -> torch.Tensor:
    """(Fc, NUM_PLANES, T) per (frame, face): n', c, Mx, My, Mz, Us, Ut, tangent, bitangent,
    tint rgb, roughness scale, metal override, material, projected; transposed
    (Fc, T, NUM_PLANES) when `transposed`.

    Args:
        tris, normals: camera-space vertex positions / normals (Fc, T, 3 vertices, 3).
        uvs: texture coordinates (T, 3 vertices, 2), v down the image.
        face_info: (FACE_INFO_ROWS, T) per face, see `FACE_INFO_ROWS`.
        tex_size: (T,) float32 level-0 side of each face's texture (texel coordinates).
    The tangent follows +u and the bitangent -v (up the image, the +y of the normal maps),
    both unit length, constant over the face.
    """
    n, a, b, c = ray_planes(tris)
    planes = [*n, c]
    for k in range(3):  # normal * det = n0 (r.n') + (n1 - n0)(r.a) + (n2 - n0)(r.b)
        n0, n1, n2 = normals[..., 0, k], normals[..., 1, k], normals[..., 2, k]
        planes += _combine(n0, n1 - n0, n2 - n0, n, a, b)
    for k in range(2):  # texel coordinate * det, with the -0.5 of texel centres folded in
        t0, t1, t2 = (uvs[:, i, k] * tex_size for i in range(3))
        planes += _combine(t0 - 0.5, t1 - t0, t2 - t0, n, a, b)
    planes += _tangent_frame(tris, uvs)
    planes += list(face_info)
    return torch.stack([p.expand(n[0].shape) for p in planes], dim=2 if transposed else 1)


def shade_covered(keys, pixel, table, rays, textures, light, lookup, frame_env, brdf,
                  shadow=None, occlusion=None, want_normals: bool = False,
                  transposed: bool = False, projected: bool = False):
    """`shade_faces` of the covered pixels `pixel` (flat) of one frame's z-buffer `keys`.

    Returns the pixels' faces, then what `shade_faces` returns.
    """
    face = keys.index_select(0, pixel) & FACE_MASK
    return (face, *shade_faces(table, face, take_columns(rays, pixel), textures, light, lookup,
                               frame_env, brdf, shadow, occlusion, want_normals, transposed,
                               projected))


def shade_faces(table, face, rays, textures, light, lookup, frame_env, brdf, shadow=None,
                occlusion=None, want_normals: bool = False, transposed: bool = False,
                projected: bool = False):
    """Linear radiance (3, N), planar depth (N,) and unit normals (3, N) or None, of N pixels.

    Args:
        table: `surface_planes` of one frame, (NUM_PLANES, T), or its transpose (T, NUM_PLANES)
            when `transposed` (one contiguous gather per pixel: what a compiled kernel wants).
        face: (N,) the face seen at each pixel.
        rays: (3, N) from `pixel_rays`.
        textures: the scene's `textures.Textures`.
        light: (LIGHT_SIZE,) from `frame_light`.
        lookup, frame_env: the `environment.EnvironmentLookup` and its `frame_parameters`.
        brdf: `environment_brdf_table`.
        shadow: optional `(moments, parameters)` from `ShadowCaster.lookup` (see `sun_visibility`).
        occlusion: optional `(inverse depth of the frame, parameters)` for
            `occlusion.ambient_occlusion` (screen-space occlusion of the environment light).
    Normals are the interpolated geometric normals (no normal map) in camera space, turned
    towards the camera. Both layouts give the same bits. The terms (`material`, `split_sum`,
    `environment`, `sun`, `sun_visibility`, `occlusion.ambient_occlusion`, `combine`) have C
    twins of the same names in csrc/shade.c; the constants they share are in `look`.
    """
    p = entries(table, face, transposed)
    rx, ry, inv_len = rays.unbind(0)

    inv_det, depth = surface_depth(p, rx, ry)
    g = geometric_normal(p, rx, ry)
    m = material(textures, p, light, rx, ry, inv_det, g)

    # Eye vector v = -ray / |ray|.
    v = (-rx * inv_len, -ry * inv_len, -inv_len)
    n = m.normal
    n_v = ((n[0] * v[0] + n[1] * v[1]) + n[2] * v[2]).clamp(min=1e-4, max=1.0)
    env = split_sum(brdf, m.roughness, n_v)
    reflected, irradiance = environment(lookup, frame_env, light, n, v, n_v, m.roughness,
                                        p[GROUND] > 0.0)
    terms = sun(light, n, g, v, n_v, m.roughness)
    lit = terms.lit
    visible = None
    if shadow is not None:
        visible = sun_visibility(shadow[0], shadow[1], rx, ry, depth)
        lit = lit * visible
    ao = 1.0 if occlusion is None else ambient_occlusion(
        occlusion[0], occlusion[1], rx * depth, ry * depth, depth, *g)

    ambient_weight = ao * light[AMBIENT_SCALE]
    radiance = [combine(m.f0[c], m.base[c], reflected[c], irradiance[c], light[SUN_RGB + c],
                        m.metal, env, terms, lit, ambient_weight) for c in range(3)]
    if projected:
        ground = projected_ground(lookup, frame_env, light, g, rx, ry, depth, visible, ao)
        radiance = [torch.where(p[PROJECTED] > 0.0, ground[c], radiance[c]) for c in range(3)]
    normals = torch.stack(g) if want_normals else None
    return torch.stack(radiance), depth, normals


# The terms of `shade_faces`, in its order (shade.c has a C twin of each, of the same name):
# material, environment, sun, occlusion (`sun_visibility`, `occlusion.ambient_occlusion`),
# combine. First the surface itself (also what `surface.surface_frame` draws unshaded).


def ray_dot(p, i: int, rx, ry):
    """r . X of the rays r = (rx, ry, 1) and the vector X in rows i, i+1, i+2 of `p`."""
    return (rx * p[i] + ry * p[i + 1]) + p[i + 2]


def surface_depth(p, rx, ry):
    """1/det (the perspective-correct interpolation factor) and the planar depth of the faces
    whose `surface_planes` rows are `p`, seen along rays (rx, ry, 1)."""
    det = ray_dot(p, DET, rx, ry)
    det = det + torch.copysign(det.new_full((), 1e-30), det)  # never 0, same sign
    inv_det = torch.reciprocal(det)
    return inv_det, (p[DEPTH] * inv_det).clamp(min=1e-6)


def geometric_normal(p, rx, ry):
    """The interpolated geometric normal (unit, camera space) turned towards the camera."""
    nx, ny, nz = (ray_dot(p, NORMAL + 3 * k, rx, ry) for k in range(3))
    n_ray = (rx * nx + ry * ny) + nz
    facing = -torch.copysign(torch.rsqrt((nx * nx + ny * ny) + nz * nz), n_ray)
    return nx * facing, ny * facing, nz * facing


class Material(NamedTuple):
    """A pixel's material (each (N,), or a triple of them)."""

    base: list[torch.Tensor]  # linear base colour rgb
    f0: list[torch.Tensor]  # specular colour: Fresnel reflectance at normal incidence, rgb
    roughness: torch.Tensor  # perceptual, in [MIN_ROUGHNESS, 1]
    metal: torch.Tensor  # metalness in [0, 1]
    normal: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # unit, normal-mapped


def material(textures, p, light, rx, ry, inv_det, g) -> Material:
    """The material seen along rays (rx, ry, 1) on faces whose `surface_planes` rows are `p`
    (1/det `inv_det`): the anisotropic (two trilinear taps), wrapping sample of their texture
    over the pixel's footprint (`texture_steps`, `textures.sample_anisotropic`) with the face's
    tint, roughness scale and
    metal override, and the normal map applied in the face's tangent frame around the
    geometric normal g (towards the eye)."""
    m = texture_maps.sample_anisotropic(textures, p[MATERIAL],
                                        *texture_steps(p, light, rx, ry, inv_det))
    gx, gy, gz = g
    tx, ty, tz = m[5], m[6], m[7]
    sx = (p[TANGENT] * tx + p[BITANGENT] * ty) + gx * tz
    sy = (p[TANGENT + 1] * tx + p[BITANGENT + 1] * ty) + gy * tz
    sz = (p[TANGENT + 2] * tx + p[BITANGENT + 2] * ty) + gz * tz
    inv_s = torch.rsqrt(((sx * sx + sy * sy) + sz * sz).clamp(min=1e-20))
    roughness = (m[3] * p[ROUGHNESS_SCALE]).clamp(look.MIN_ROUGHNESS, 1.0)
    metal = p[METAL_OVERRIDE] + (-p[METAL_OVERRIDE] + 1.0) * m[4].clamp(0.0, 1.0)
    base = [m[c].clamp(min=0.0) * p[TINT + c] for c in range(3)]
    dielectric = look.DIELECTRIC_F0
    f0 = [(b - dielectric) * metal + dielectric for b in base]
    return Material(base, f0, roughness, metal, (sx * inv_s, sy * inv_s, sz * inv_s))


def texture_steps(p, light, rx, ry, inv_det):
    """Level-0 texel coordinates (x, y) along rays (rx, ry, 1), and their steps per pixel
    (sx, tx) along the screen's x and (sy, ty) along its y: the coordinate is X.r / D.r, so its
    derivative along rx is (X_x - coordinate D_x) / D.r, times 1/fx per pixel (and likewise
    along y)."""
    x = ray_dot(p, TEXEL_S, rx, ry) * inv_det
    y = ray_dot(p, TEXEL_T, rx, ry) * inv_det
    sx = (p[TEXEL_S] - x * p[DET]) * inv_det * light[INV_FX]
    tx = (p[TEXEL_T] - y * p[DET]) * inv_det * light[INV_FX]
    sy = (p[TEXEL_S + 1] - x * p[DET + 1]) * inv_det * light[INV_FY]
    ty = (p[TEXEL_T + 1] - y * p[DET + 1]) * inv_det * light[INV_FY]
    return x, y, sx, tx, sy, ty


def projected_ground(lookup, frame_env, light, g, rx, ry, depth, visible, ao):
    """Radiance [r, g, b] of environment-ground pixels (Kubric's dome): the environment map
    along the direction from the capture point C (`frame_env[ENV_CAPTURE:]`, camera space) to
    the ground point P = depth (rx, ry, 1), times the light it keeps: per channel
    (E ao + S v) / (E + S) with E the environment's irradiance at the ground's normal g, S the
    sun's (n.l x its colour), v the sun's visibility (None: 1) and ao the occlusion (a float or
    (N,)). The map already holds the unoccluded ground's light; shadows and occlusion darken it."""
    capture = [frame_env[look.ENV_CAPTURE + k] for k in range(3)]
    dx, dy, dz = rx * depth - capture[0], ry * depth - capture[1], depth - capture[2]
    seen = env_light.backdrop_radiance(lookup, frame_env, dx, dy, dz, depth)
    irradiance = env_light.irradiance(frame_env, *g)
    lx, ly, lz = light[SUN_DIR], light[SUN_DIR + 1], light[SUN_DIR + 2]
    n_l = ((g[0] * lx + g[1] * ly) + g[2] * lz).clamp(min=0.0)
    out = []
    for c in range(3):
        sky = irradiance[c] * light[AMBIENT_SCALE]
        sun_c = n_l * light[SUN_RGB + c]
        kept = (sky * ao + (sun_c if visible is None else sun_c * visible)) \
            / (sky + sun_c).clamp(min=1e-20)
        out.append(seen[c] * kept)
    return out


def split_sum(brdf: torch.Tensor, roughness: torch.Tensor, n_v: torch.Tensor):
    """(A, B): the split-sum environment BRDF is F0 A + B (Karis' analytic fit, `look.KARIS_*`,
    exp2 by `environment_brdf_table`)."""
    c0, c1, ab = look.KARIS_C0, look.KARIS_C1, look.KARIS_AB
    r0, r1, r2, r3 = (roughness * c0[i] + c1[i] for i in range(4))
    a004 = torch.minimum(r0 * r0, _table(brdf, n_v)) * r0 + r1
    return (a004 * ab[0] + r2).clamp(min=0.0), (a004 * ab[1] + r3).clamp(min=0.0)


def environment(lookup, frame_env, light, n, v, n_v, roughness, ground):
    """(reflected, irradiance), each rgb: the environment along the reflection
    r = 2 (n.v) n - v (mip level growing with sqrt(roughness)), for the ground (`ground`, bool)
    blended with its lobe-integrated table (`ground_reflection.reflected`), and the irradiance
    at n (order-2 harmonics)."""
    two_nv = 2.0 * n_v
    dx, dy, dz = two_nv * n[0] - v[0], two_nv * n[1] - v[1], two_nv * n[2] - v[2]
    reflected = env_light.radiance(lookup, frame_env, dx, dy, dz,
                                   roughness * torch.rsqrt(roughness) * light[LOD_SCALE])
    reflected = ground_reflection.reflected(lookup.ground_texels, frame_env, reflected, roughness,
                                            ground, dx, dy, dz)
    return reflected, env_light.irradiance(frame_env, *n)


def ggx_distribution(n_h: torch.Tensor, alpha2: torch.Tensor) -> torch.Tensor:
    """GGX (Trowbridge-Reitz) D = alpha^2 / (pi ((n.h)^2 (alpha^2 - 1) + 1)^2)."""
    d_denominator = (n_h * n_h) * (alpha2 - 1.0) + 1.0
    return alpha2 / (math.pi * d_denominator * d_denominator)


def smith_visibility(n_v: torch.Tensor, n_l: torch.Tensor, roughness: torch.Tensor):
    """Smith-Schlick G / (4 n.l n.v), with k = (roughness + 1)^2 / 8."""
    k = (roughness + 1.0) * (roughness + 1.0) * 0.125
    return 0.25 / ((n_v * (-k + 1.0) + k) * (n_l * (-k + 1.0) + k))


def fresnel_weight(v_h: torch.Tensor) -> torch.Tensor:
    """(1 - v.h)^5 of Schlick's Fresnel (products: no pow)."""
    x = -v_h + 1.0
    x2 = x * x
    return x2 * x2 * x


def schlick_fresnel(f0: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Schlick's F = F0 + (1 - F0) (1 - v.h)^5, with `weight` = `fresnel_weight(v.h)`."""
    return f0 + (-f0 + 1.0) * weight


class Sun(NamedTuple):
    """The sun's Cook-Torrance GGX terms at each pixel."""

    distribution: torch.Tensor
    visibility: torch.Tensor
    fresnel_weight: torch.Tensor
    lit: torch.Tensor  # n.l where the sun reaches the pixel's side, else 0 (no shadows)


def sun(light, n, g, v, n_v, roughness) -> Sun:
    """The sun's terms at unit normal n (geometric normal g) seen from v: a normal map does not
    light the side of a surface that faces away from the sun (`look.LIT_SIDE_MIN`)."""
    lx, ly, lz = light[SUN_DIR], light[SUN_DIR + 1], light[SUN_DIR + 2]
    n_l = (n[0] * lx + n[1] * ly) + n[2] * lz
    geometric_l = (g[0] * lx + g[1] * ly) + g[2] * lz
    lit_side = (n_l > 0) & (geometric_l > look.LIT_SIDE_MIN)
    n_l = n_l.clamp(min=0.0)
    l_v = (lx * v[0] + ly * v[1]) + lz * v[2]
    inv_h = torch.rsqrt((2.0 + 2.0 * l_v).clamp(min=1e-12))
    n_h = ((n_l + n_v) * inv_h).clamp(0.0, 1.0)
    v_h = ((1.0 + l_v) * inv_h).clamp(0.0, 1.0)
    alpha = roughness * roughness
    return Sun(ggx_distribution(n_h, alpha * alpha), smith_visibility(n_v, n_l, roughness),
               fresnel_weight(v_h), n_l * torch.where(lit_side, 1.0, 0.0))


def combine(f0, base, reflected, irradiance, sun_rgb, metal, env, terms: Sun, lit,
            ambient_weight) -> torch.Tensor:
    """One colour channel of the radiance: the environment's diffuse and split-sum specular
    light (with multiple-scattering compensation) times `ambient_weight` (occlusion x the
    environment's scale), plus the sun's diffuse and GGX specular light times `lit` (n.l x
    shadow) x its colour `sun_rgb`."""
    env_a, env_b = env
    split = f0 * env_a + env_b
    compensation = 1.0 + f0 * (torch.reciprocal((env_a + env_b).clamp(min=1e-3)) - 1.0)
    specular_env = reflected * split * compensation
    diffuse_colour = base * (-metal + 1.0)
    ambient = (irradiance * (diffuse_colour * (1.0 / math.pi)) * (-split + 1.0)
               + specular_env) * ambient_weight
    fresnel = schlick_fresnel(f0, terms.fresnel_weight)
    direct = diffuse_colour * (1.0 / math.pi) * (-fresnel + 1.0) \
        + terms.distribution * terms.visibility * fresnel
    return ambient + direct * (lit * sun_rgb)


def sun_visibility(moments: torch.Tensor, params: torch.Tensor, rx: torch.Tensor,
                   ry: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """Fraction of the sun the camera-space point (rx*d, ry*d, d) sees, in [0, 1]: a variance
    shadow map (Chebyshev's bound on the blurred depth moments, light bleeding trimmed).

    Args:
        moments: (2, S*S) blurred mean and mean square of the casters' light-space depth
            (offset by the map's near distance), `shadows.shadow_moments`.
        params: (SHADOW_PARAMS,) float32: camera -> light transform (3x4, row-major), the light
            camera's fx, fy, cx, cy, S and the depth offset (`shadows.ShadowCaster.lookup`; the
            layout is in `look`).
    """
    px, py, pz = rx * depth, ry * depth, depth
    m = [params[SHADOW_TO_LIGHT + i] for i in range(12)]
    qx = ((m[0] * px + m[1] * py) + m[2] * pz) + m[3]
    qy = ((m[4] * px + m[5] * py) + m[6] * pz) + m[7]
    qz = ((m[8] * px + m[9] * py) + m[10] * pz) + m[11]
    fx, fy, cx, cy = (params[SHADOW_INTRINSICS + i] for i in range(4))
    size, offset = params[SHADOW_MAP_SIZE], params[SHADOW_DEPTH_OFFSET]
    last = size - 1.0
    u, v = qx / qz * fx + cx, qy / qz * fy + cy
    inside = (u >= 0) & (u < size) & (v >= 0) & (v < size)  # outside the map: no caster
    x = torch.minimum((u - 0.5).clamp(min=0.0), last)
    y = torch.minimum((v - 0.5).clamp(min=0.0), last)
    x0, y0 = torch.floor(x), torch.floor(y)
    wx, wy = x - x0, y - y0
    x1, y1 = torch.minimum(x0 + 1.0, last), torch.minimum(y0 + 1.0, last)
    index = torch.stack([x0 + y0 * size, x1 + y0 * size, x0 + y1 * size, x1 + y1 * size]).long()
    q = take_columns(moments, index.reshape(-1)).view(2, 4, -1)
    mean, square = ((q[:, 0] + (q[:, 1] - q[:, 0]) * wx)
                    + ((q[:, 2] + (q[:, 3] - q[:, 2]) * wx)
                       - (q[:, 0] + (q[:, 1] - q[:, 0]) * wx)) * wy).unbind(0)
    receiver = qz - offset - look.SHADOW_BIAS
    variance = (square - mean * mean).clamp(min=look.SHADOW_MIN_VARIANCE)
    gap = receiver - mean
    bound = variance / (variance + gap * gap)  # Chebyshev's upper bound on the lit fraction
    # light-bleeding reduction
    trimmed = ((bound - look.LIGHT_BLEEDING) * look.bleeding_scale()).clamp(0.0, 1.0)
    return torch.where((gap <= 0) | ~inside, 1.0, trimmed)


def ray_planes(tris: torch.Tensor):
    """Moller-Trumbore with the ray as the only per-pixel input: for r = (rx, ry, 1),
    det = r.n', u = r.a / det, v = r.b / det, depth = c / det (lists of components)."""
    v0 = [tris[..., 0, k] for k in range(3)]
    e1 = [tris[..., 1, k] - v0[k] for k in range(3)]
    e2 = [tris[..., 2, k] - v0[k] for k in range(3)]
    n = _cross(e2, e1)
    c = (v0[0] * n[0] + v0[1] * n[1]) + v0[2] * n[2]
    return n, _cross(v0, e2), _cross(e1, v0), c


def _tangent_frame(tris: torch.Tensor, uvs: torch.Tensor) -> list[torch.Tensor]:
    """Unit tangent (+u) and bitangent (-v) of each (frame, face), in camera space."""
    e1 = [tris[..., 1, k] - tris[..., 0, k] for k in range(3)]
    e2 = [tris[..., 2, k] - tris[..., 0, k] for k in range(3)]
    du1, dv1 = uvs[:, 1, 0] - uvs[:, 0, 0], uvs[:, 1, 1] - uvs[:, 0, 1]
    du2, dv2 = uvs[:, 2, 0] - uvs[:, 0, 0], uvs[:, 2, 1] - uvs[:, 0, 1]
    tangent = [e1[k] * dv2 - e2[k] * dv1 for k in range(3)]
    bitangent = [e1[k] * du2 - e2[k] * du1 for k in range(3)]  # -v, up to the sign of det
    sign = torch.where(du1 * dv2 - du2 * dv1 >= 0, 1.0, -1.0)
    out = []
    for vector, flip in ((tangent, sign), (bitangent, sign)):
        inv = torch.rsqrt(((vector[0] * vector[0] + vector[1] * vector[1])
                           + vector[2] * vector[2]).clamp(min=1e-30)) * flip
        out += [component * inv for component in vector]
    return out


def _combine(s0, s1, s2, n, a, b):
    """Components of s0 n' + s1 a + s2 b."""
    return [(s0 * n[k] + s1 * a[k]) + s2 * b[k] for k in range(3)]


def _table(table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of `environment_brdf_table` at x in [0, 1]."""
    position = x * float(EXP_TABLE_SIZE - 1)
    i = torch.floor(position)
    value_step = take_columns(table, i.long())
    return value_step[0] + value_step[1] * (position - i)


def _cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
