"""Image-based lighting: an environment as a cube map with a box-filtered mip chain, its 9
spherical-harmonic irradiance, and the sun (or an HDR map's brightest light) as the key light.

Built once per environment in float64 numpy with `exact_math` (same bits on every CPU): from an
equirectangular HDR (cached per file) or from the Preetham daylight model for a spec's sun and
turbidity. The per-pixel side (`EnvironmentLookup`) uses only +, -, *, /, comparisons and
gathers: a direction picks a cube face by its largest component, texels are bilinear within the
face, roughness picks a mip level pair (a table, no log), irradiance is the quadratic form
n^T M n of Ramamoorthi & Hanrahan (2001) rotated into camera space per frame.

World axes: Y up. Cube faces +X, -X, +Y, -Y, +Z, -Z; an equirectangular map's column 0 faces
-X... its centre column faces +Z (longitude = atan2(x, z)), row 0 is straight up.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from lightpipe.assets.memory import ASSET_MEMORY, kept_in_memory
from lightpipe.render import exact_math
from lightpipe.render import ground_reflection
from lightpipe.render.look import (
    ENV_BACKDROP_SCALE,
    ENV_CAPTURE,
    ENV_IRRADIANCE,
    ENV_ROTATION,
    ENV_TERMS,
)
from lightpipe.render.textures import mip_level
from lightpipe.render.zbuffer import take_columns

FACES = 6
BASE_SIZE = 256  # texels per cube face side at mip level 0 (about 2.8 per degree)
SKY_SIZE = 64  # the procedural sky is smooth: a coarser base level suffices
MIN_LEVEL_SIZE = 2
SH_SIZE = 16  # the cube level the irradiance harmonics are integrated over
SUN_RATIO = 40.0  # a map's brightest light counts as a sun when this much above the mean
# The backdrop (what the camera sees of a map, and the environment ground) has its own cube,
# sized for the frame: level-0 face side 2 fx (a texel per pixel at the face's centre), no
# finer than the map (its width / pi), a multiple of BACKDROP_STEP (so it halves into mip
# levels) and at most MAX_BACKDROP_SIZE: 6 x 2048^2 x 3 half floats x 4/3 = 201 MiB at most,
# 75 MiB + 25 MiB of mips for an 8k map behind an 832x480 frame (fx ~ 720: side 1440).
BACKDROP_STEP = 32
MAX_BACKDROP_SIZE = 2048
HALF_MAX = 65504.0  # the largest half float: brighter texels (a sun's core) are clipped there
# Ramamoorthi & Hanrahan's irradiance constants.
_C1, _C2, _C3, _C4, _C5 = 0.429043, 0.511664, 0.743125, 0.886227, 0.247708


@dataclass(frozen=True)
class Environment:
    """One environment in its own frame (before rotation): radiance levels and the key light."""

    levels: tuple[np.ndarray, ...]  # (6, S, S, 3) float64 radiance, S halving per level
    sh: np.ndarray  # (9, 3) radiance projected on the real SH basis (order 2)
    sun_direction: tuple[float, float, float]  # unit, towards the light
    sun_irradiance: tuple[float, float, float]  # rgb, on a surface facing the light
    sun_radius_deg: float  # angular radius of the light (soft shadows)


def luminance(rgb) -> float:
    return 0.2126 * float(rgb[0]) + 0.7152 * float(rgb[1]) + 0.0722 * float(rgb[2])


# --- building -----------------------------------------------------------------------------------


def cube_directions(size: int) -> np.ndarray:
    """(6, S, S, 3) unit directions of texel centres (row-major, row 0 at t = -1)."""
    return np.concatenate([_face_directions(size, face) for face in range(FACES)])


def texel_solid_angles(size: int) -> np.ndarray:
    """(6, S, S) solid angle of each cube texel (exact for the texel centre's density)."""
    centres = (np.arange(size, dtype=np.float64) + 0.5) / size * 2.0 - 1.0
    t, s = np.meshgrid(centres, centres, indexing="ij")
    r2 = 1.0 + s * s + t * t
    area = (2.0 / size) ** 2
    return np.broadcast_to(area / (r2 * np.sqrt(r2)), (FACES, size, size)).copy()


def from_equirect(image: np.ndarray, size: int = BASE_SIZE) -> Environment:
    """An environment from an equirectangular map; its brightest compact light becomes the sun."""
    base = _resample_equirect(np.asarray(image, np.float64), size)
    base, sun = _extract_sun(base)
    return _finish(base, *sun)


def backdrop_side(fx: float, map_width: int | None) -> int:
    """The backdrop cube's level-0 face side for a frame of focal length `fx` pixels and a map
    `map_width` texels wide (None: the procedural sky, whose own cube is the backdrop)."""
    side = 2.0 * fx
    if map_width is not None:
        side = min(side, map_width / math.pi)
    steps = max(1, math.ceil(side / BACKDROP_STEP))
    return min(steps * BACKDROP_STEP, MAX_BACKDROP_SIZE)


def half_levels(levels) -> tuple[np.ndarray, ...]:
    """Cube levels (6, S, S, 3) as half floats, clipped to [0, HALF_MAX]."""
    return tuple(np.clip(level, 0.0, HALF_MAX).astype(np.float16) for level in levels)


@kept_in_memory  # bounded with the loaded assets (settings.assets.mesh_cache_mb)
def backdrop_from_file(path: str, size: int) -> tuple[np.ndarray, ...]:
    """The backdrop cube of a map at face side `size` (see `backdrop_side`): the map, first
    box-filtered by halves while it is denser than twice the cube's centre (so the bilinear
    resampling does not alias), resampled per face, then mip-mapped down to faces of side
    BACKDROP_STEP / 2 or an odd side; half floats. The sun stays in it (the camera sees it)."""
    from lightpipe.assets.environments import load_environment_image

    image = np.asarray(load_environment_image(path), np.float64)
    while image.shape[1] / (2 * math.pi) > size and image.shape[0] % 2 == 0 \
            and image.shape[1] % 2 == 0:
        image = ((image[0::2, 0::2] + image[0::2, 1::2]) + (image[1::2, 0::2] + image[1::2, 1::2])) \
            * 0.25
    base = np.concatenate([_resample_equirect(image, size, face) for face in range(FACES)])
    levels = [base]
    while levels[-1].shape[1] % 2 == 0 and levels[-1].shape[1] > BACKDROP_STEP // 2:
        levels.append(_downsample(levels[-1]))
    return half_levels(levels)


@functools.lru_cache(maxsize=8)
def environment_from_file(path: str) -> Environment:
    from lightpipe.assets.environments import load_environment_image

    return from_equirect(load_environment_image(path))


def preetham_sky(sun_direction, turbidity: float, ground_albedo: float = 0.25,
                 size: int = SKY_SIZE) -> Environment:
    """Preetham et al. (1999) clear sky for this sun; below the horizon, the light a ground of
    `ground_albedo` reflects. The sun itself is the key light, not part of the map."""
    sun = np.asarray(sun_direction, np.float64)
    sun = sun / math.sqrt(float((sun * sun).sum()))
    d = cube_directions(size)
    up = d[..., 1]
    sky = _preetham_radiance(d, sun, turbidity)
    sun_rgb = _sun_irradiance(sun, turbidity)
    # Ground bounce: albedo / pi times the horizontal irradiance (sky part + sun).
    solid = texel_solid_angles(size)
    above = up > 0
    sky_irradiance = (sky * (np.where(above, up, 0.0) * solid)[..., None]).reshape(-1, 3).sum(0)
    ground = ground_albedo / math.pi * (sky_irradiance + sun_rgb * max(float(sun[1]), 0.0))
    radiance = np.where(above[..., None], sky, ground)
    return _finish(radiance, tuple(float(v) for v in sun), tuple(float(v) for v in sun_rgb),
                   0.27)


def _finish(base: np.ndarray, sun_direction, sun_irradiance, sun_radius_deg) -> Environment:
    levels = [base]
    while levels[-1].shape[1] > MIN_LEVEL_SIZE:
        levels.append(_downsample(levels[-1]))
    sh_level = next((lv for lv in levels if lv.shape[1] <= SH_SIZE), levels[-1])
    return Environment(tuple(levels), project_sh(sh_level), sun_direction, sun_irradiance,
                       sun_radius_deg)


def _downsample(level: np.ndarray) -> np.ndarray:
    a, b = level[:, 0::2, 0::2], level[:, 0::2, 1::2]
    c, d = level[:, 1::2, 0::2], level[:, 1::2, 1::2]
    return ((a + b) + (c + d)) * 0.25


def _resample_equirect(image: np.ndarray, size: int, face: int | None = None) -> np.ndarray:
    """Bilinear samples of the map at every cube texel direction (longitude wraps), of every
    face (6, S, S, 3) or of one (1, S, S, 3)."""
    height, width = image.shape[:2]
    d = cube_directions(size) if face is None else _face_directions(size, face)
    d = d.reshape(-1, 3)
    longitude = exact_math.atan2(d[:, 0], d[:, 2])  # 0 at +Z
    latitude = exact_math.asin(d[:, 1])
    x = (longitude / (2 * math.pi) + 0.5) * width - 0.5
    y = (0.5 - latitude / math.pi) * height - 0.5
    y = np.clip(y, 0.0, height - 1.0)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    i0 = x0.astype(np.int64) % width
    i1 = (i0 + 1) % width
    j0 = y0.astype(np.int64)
    j1 = np.minimum(j0 + 1, height - 1)
    top = image[j0, i0] * (1.0 - fx) + image[j0, i1] * fx
    bottom = image[j1, i0] * (1.0 - fx) + image[j1, i1] * fx
    return (top * (1.0 - fy) + bottom * fy).reshape(-1, size, size, 3)


def _face_directions(size: int, face: int) -> np.ndarray:
    """(1, S, S, 3) unit directions of one face's texel centres (the inverse of
    `_face_coordinates`): `cube_directions`, and the backdrop's resampling a face at a time."""
    centres = (np.arange(size, dtype=np.float64) + 0.5) / size * 2.0 - 1.0
    t, s = np.meshgrid(centres, centres, indexing="ij")
    one = np.ones_like(s)
    d = [np.stack([one, -t, -s], -1), np.stack([-one, -t, s], -1),
         np.stack([s, one, t], -1), np.stack([s, -one, -t], -1),
         np.stack([s, -t, one], -1), np.stack([-s, -t, -one], -1)][face][None]
    return d / np.sqrt((d * d).sum(-1, keepdims=True))


def _extract_sun(base: np.ndarray):
    """Find the brightest light; if it stands out, move its energy into a directional light
    (direction = its centroid) and fill its texels with the surrounding sky."""
    size = base.shape[1]
    d = cube_directions(size)
    solid = texel_solid_angles(size)
    lum = 0.2126 * base[..., 0] + 0.7152 * base[..., 1] + 0.0722 * base[..., 2]
    mean = float((lum * solid).sum() / solid.sum())
    peak = np.unravel_index(int(np.argmax(lum)), lum.shape)
    no_sun = ((0.0, 1.0, 0.0), (0.0, 0.0, 0.0), 0.27)
    if mean <= 0 or lum[peak] < SUN_RATIO * mean:
        return base, no_sun
    centre = d[peak]
    cosine = (d * centre).sum(-1)
    near = cosine > math.cos(math.radians(8.0))
    ring = near & (cosine < math.cos(math.radians(5.0)))
    background = np.median(base[ring], axis=0) if ring.any() else np.zeros(3)
    background_lum = luminance(background)
    region = near & (lum > max(4.0 * background_lum, 0.05 * float(lum[peak])))
    excess = np.maximum(base - background, 0.0) * region[..., None]
    power = (excess * solid[..., None]).reshape(-1, 3).sum(0)
    weight = (luminance_array(excess) * solid)[..., None]
    direction = (d * weight).reshape(-1, 3).sum(0)
    direction = direction / math.sqrt(float((direction * direction).sum()))
    radius = math.degrees(math.sqrt(float(solid[region].sum()) / math.pi))
    cleaned = np.where(region[..., None], np.minimum(base, background), base)
    return cleaned, (tuple(float(v) for v in direction), tuple(float(v) for v in power),
                     max(radius, 0.27))


def luminance_array(rgb: np.ndarray) -> np.ndarray:
    return 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]


# --- spherical harmonics ------------------------------------------------------------------------


def sh_basis(d: np.ndarray) -> np.ndarray:
    """(..., 9) real SH basis (l <= 2) at unit directions d (..., 3)."""
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack([
        0.282095 * np.ones_like(x),
        0.488603 * y, 0.488603 * z, 0.488603 * x,
        1.092548 * x * y, 1.092548 * y * z, 0.315392 * (3.0 * z * z - 1.0),
        1.092548 * x * z, 0.546274 * (x * x - y * y),
    ], axis=-1)


def project_sh(level: np.ndarray) -> np.ndarray:
    """(9, 3) projection of a cube level's radiance onto `sh_basis` (solid-angle weighted)."""
    size = level.shape[1]
    basis = sh_basis(cube_directions(size)) * texel_solid_angles(size)[..., None]
    return (basis[..., :, None] * level[..., None, :]).reshape(-1, 9, 3).sum(0)


def irradiance_matrices(sh: np.ndarray) -> np.ndarray:
    """(3, 4, 4): irradiance E(n) = (n, 1)^T M (n, 1) per channel (Ramamoorthi & Hanrahan;
    their (x, y, z) are `sh_basis`'s axes: L1-1 ~ y, L10 ~ z, L11 ~ x)."""
    L00, L1m1, L10, L11, L2m2, L2m1, L20, L21, L22 = sh
    m = np.zeros((3, 4, 4))
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = _C1 * L22, -_C1 * L22, _C3 * L20
    m[:, 0, 1] = m[:, 1, 0] = _C1 * L2m2
    m[:, 0, 2] = m[:, 2, 0] = _C1 * L21
    m[:, 1, 2] = m[:, 2, 1] = _C1 * L2m1
    m[:, 0, 3] = m[:, 3, 0] = _C2 * L11
    m[:, 1, 3] = m[:, 3, 1] = _C2 * L1m1
    m[:, 2, 3] = m[:, 3, 2] = _C2 * L10
    m[:, 3, 3] = _C4 * L00 - _C5 * L20
    return m


def irradiance_from_sh(sh: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """(3,) irradiance at a unit world normal (numpy; the renderer's is `EnvironmentLookup`)."""
    n = np.append(np.asarray(normal, np.float64), 1.0)
    m = irradiance_matrices(sh)
    return (m * n[None, :, None] * n[None, None, :]).reshape(3, -1).sum(1)


# --- Preetham daylight --------------------------------------------------------------------------

_PEREZ = {  # (a, b): coefficient = a * turbidity + b, for A..E
    "Y": ((0.1787, -1.4630), (-0.3554, 0.4275), (-0.0227, 5.3251), (0.1206, -2.5771),
          (-0.0670, 0.3703)),
    "x": ((-0.0193, -0.2592), (-0.0665, 0.0008), (-0.0004, 0.2125), (-0.0641, -0.8989),
          (-0.0033, 0.0452)),
    "y": ((-0.0167, -0.2608), (-0.0950, 0.0092), (-0.0079, 0.2102), (-0.0441, -1.6537),
          (-0.0109, 0.0529)),
}
_ZENITH_X = ((0.00166, -0.00375, 0.00209, 0.0), (-0.02903, 0.06377, -0.03202, 0.00394),
             (0.11693, -0.21196, 0.06052, 0.25886))
_ZENITH_Y = ((0.00275, -0.00610, 0.00317, 0.0), (-0.04214, 0.08970, -0.04153, 0.00516),
             (0.15346, -0.26756, 0.06670, 0.26688))
_XYZ_TO_RGB = ((3.2404542, -1.5371385, -0.4985314), (-0.9692660, 1.8760108, 0.0415560),
               (0.0556434, -0.2040259, 1.0572252))
# kcd/m2 -> the renderer's radiance units (exposure normalizes anyway). Preetham's absolute sky
# luminance runs about twice what clear skies measure against the direct sun (diffuse ~ 1/5 of
# the global horizontal light at mid elevations), so the sky gets half the sun's scale.
_SKY_SCALE = 1.0 / 20.0
_SUN_SCALE = 1.0 / 10.0


def _perez(cos_theta, gamma, cos_gamma, coefficients, turbidity):
    a, b, c, d, e = (p * turbidity + q for p, q in coefficients)
    return (1.0 + a * exact_math.exp(b / cos_theta)) * (
        1.0 + c * exact_math.exp(d * gamma) + e * cos_gamma * cos_gamma)


def _preetham_radiance(d: np.ndarray, sun: np.ndarray, turbidity: float) -> np.ndarray:
    theta_s = float(exact_math.acos(np.array(max(float(sun[1]), 0.0))))  # sun zenith angle
    chi = (4.0 / 9.0 - turbidity / 120.0) * (math.pi - 2.0 * theta_s)
    zenith_y = (4.0453 * turbidity - 4.9710) * math.tan(chi) - 0.2155 * turbidity + 2.4192
    powers = (theta_s ** 3, theta_s ** 2, theta_s, 1.0)
    t_vec = (turbidity * turbidity, turbidity, 1.0)
    zenith = {"Y": max(zenith_y, 0.0),
              "x": sum(t * sum(m * p for m, p in zip(row, powers)) for t, row in zip(t_vec, _ZENITH_X)),
              "y": sum(t * sum(m * p for m, p in zip(row, powers)) for t, row in zip(t_vec, _ZENITH_Y))}
    cos_theta = np.maximum(d[..., 1], 0.01)
    cos_gamma = np.clip((d * sun).sum(-1), -1.0, 1.0)
    gamma = exact_math.acos(cos_gamma)
    cos_ts = math.cos(theta_s)
    values = {}
    for key, coefficients in _PEREZ.items():
        ratio = _perez(cos_theta, gamma, cos_gamma, coefficients, turbidity) / _perez(
            np.array(1.0), np.array(theta_s), np.array(cos_ts), coefficients, turbidity)
        values[key] = zenith[key] * ratio
    big_y, x, y = values["Y"], values["x"], values["y"]
    xyz = np.stack([x / y * big_y, big_y, (1.0 - x - y) / y * big_y], -1)
    rgb = sum(xyz[..., k, None] * np.array([row[k] for row in _XYZ_TO_RGB]) for k in range(3))
    return np.maximum(rgb, 0.0) * _SKY_SCALE


def _sun_irradiance(sun: np.ndarray, turbidity: float) -> np.ndarray:
    """rgb irradiance of the sun after the atmosphere (Rayleigh + aerosol optical depth over the
    Kasten-Young air mass), in the sky's units: ~90 klx at the zenith of a clear day."""
    elevation = math.degrees(math.asin(max(min(float(sun[1]), 1.0), 0.0)))
    zenith = 90.0 - elevation
    air_mass = 1.0 / (math.cos(math.radians(zenith)) + 0.50572 * (96.07995 - zenith) ** -1.6364)
    beta = 0.04608 * turbidity - 0.04586
    rgb = []
    for wavelength_um in (0.61, 0.55, 0.465):
        tau = 0.008735 * wavelength_um ** -4.08 + beta * wavelength_um ** -1.3
        rgb.append(math.exp(-tau * air_mass))
    return np.array(rgb) * 128.0 * _SUN_SCALE  # 128 klx outside the atmosphere


# --- the per-pixel side --------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentLookup:
    """An environment on a device: every level's texels in one planar (3, N) table, and the
    backdrop's cube (half floats, its own levels)."""

    texels: torch.Tensor  # (3, sum 6 S_k^2) float32
    sizes: torch.Tensor  # (levels,) float32 face size per level
    offsets: torch.Tensor  # (levels,) float32 first texel of each level
    levels: int
    backdrop_texels: torch.Tensor  # (sum 6 B_k^2, 3) float16: a texel's channels together
    backdrop_sizes: torch.Tensor  # (backdrop levels,) int64 face side per level
    backdrop_offsets: torch.Tensor  # (backdrop levels,) int64 first texel of each level
    # (3, GROUND_TABLE_SLICES * GROUND_TABLE_SIDE^2) float32 `ground_reflection.build_table`
    ground_texels: torch.Tensor | None = None

    @property
    def backdrop_levels(self) -> int:
        return self.backdrop_sizes.shape[0]

    @classmethod
    def create(cls, environment: Environment, device, backdrop=None) -> EnvironmentLookup:
        """`backdrop`: the backdrop cube's half-float levels (`backdrop_from_file`); None: the
        environment's own levels (the procedural sky)."""
        texels, sizes, starts = _flat_levels(environment.levels, np.float32)
        backdrop = half_levels(environment.levels) if backdrop is None else backdrop
        bd_flat = [lv.reshape(-1, 3) for lv in backdrop]
        bd_offsets = np.cumsum([0] + [f.shape[0] for f in bd_flat[:-1]])
        bd_texels = torch.from_numpy(np.ascontiguousarray(np.concatenate(bd_flat)))
        return cls(texels.to(device), torch.tensor(sizes, device=device),
                   torch.tensor(starts, device=device), len(sizes), bd_texels.to(device),
                   torch.tensor([lv.shape[1] for lv in backdrop], dtype=torch.int64,
                                device=device),
                   torch.tensor(bd_offsets.tolist(), dtype=torch.int64, device=device),
                   _ground_table(environment.levels).to(device))


def _flat_levels(levels, dtype) -> tuple[torch.Tensor, list[float], list[float]]:
    """The cube's levels as one (3, N) `dtype` tensor of texels, each level's face side and
    first texel (as floats: the lookup computes indices in float)."""
    flat = [np.asarray(lv, dtype=dtype).reshape(-1, 3) for lv in levels]
    offsets = np.cumsum([0] + [f.shape[0] for f in flat[:-1]])
    return (torch.from_numpy(np.ascontiguousarray(np.concatenate(flat).T)),
            [float(lv.shape[1]) for lv in levels], [float(o) for o in offsets])


def _ground_table(levels) -> torch.Tensor:
    """`ground_reflection.build_table` of the lighting cube's levels integrated in float64 (20 ms),
    kept with the loaded assets by the levels' digest: a map shared by videos is integrated once."""
    digest = hashlib.sha256()
    for level in map(np.ascontiguousarray, levels):
        digest.update(f"{level.dtype} {level.shape}".encode() + level.tobytes())

    def integrate() -> np.ndarray:
        return ground_reflection.build_table(float64_lookup(levels), radiance).numpy()

    return torch.from_numpy(ASSET_MEMORY.get(("ground_table", digest.digest()), integrate))


def float64_lookup(levels) -> EnvironmentLookup:
    """The lighting cube's levels as a float64 `EnvironmentLookup` on the CPU (no backdrop): what
    `ground_reflection.build_table` integrates."""
    texels, sizes, starts = _flat_levels(levels, np.float64)
    return EnvironmentLookup(
        texels, torch.tensor(sizes, dtype=torch.float64),
        torch.tensor(starts, dtype=torch.float64), len(levels),
        torch.zeros((0, 3), dtype=torch.float16), torch.zeros(0, dtype=torch.int64),
        torch.zeros(0, dtype=torch.int64))


def frame_parameters(environment: Environment, camera_to_env: np.ndarray, device,
                     capture=(0.0, 0.0, 0.0), backdrop_scale: float = 0.0) -> torch.Tensor:
    """(ENV_SIZE,) float32 of one frame (layout in `look`): the camera -> environment rotation
    (3x3, row-major), then the irradiance quadratic forms of the three channels in camera space
    (ENV_TERMS each: xx, yy, zz, xy, xz, yz, x, y, z, 1, with the off-diagonal ones doubled),
    the environment ground's capture point in camera space and the backdrop's footprint scale
    (its level-0 face side / (2 fx))."""
    q = np.eye(4)
    q[:3, :3] = camera_to_env
    m = irradiance_matrices(environment.sh)  # in environment axes
    # (n_env, 1) = Q (n_cam, 1): M_cam = Q^T M Q, written out (no BLAS).
    cam = np.zeros((3, 4, 4))
    for i in range(4):
        for j in range(4):
            cam[:, i, j] = sum(q[a, i] * sum(m[:, a, b] * q[b, j] for b in range(4))
                               for a in range(4))
    terms = [cam[:, 0, 0], cam[:, 1, 1], cam[:, 2, 2], 2 * cam[:, 0, 1], 2 * cam[:, 0, 2],
             2 * cam[:, 1, 2], 2 * cam[:, 0, 3], 2 * cam[:, 1, 3], 2 * cam[:, 2, 3], cam[:, 3, 3]]
    values = [*camera_to_env.reshape(-1).tolist(), *np.stack(terms, 1).reshape(-1).tolist(),
              *[float(c) for c in capture], float(backdrop_scale)]
    assert len(values) == ENV_BACKDROP_SCALE + 1 and ENV_CAPTURE == len(values) - 4
    return torch.tensor(values, dtype=torch.float32, device=device)


def irradiance(params: torch.Tensor, nx, ny, nz) -> list[torch.Tensor]:
    """Irradiance [r, g, b] at unit camera-space normals (each (N,))."""
    out = []
    for c in range(3):
        t = [params[ENV_IRRADIANCE + ENV_TERMS * c + k] for k in range(ENV_TERMS)]
        quadratic = ((t[0] * nx * nx + t[1] * ny * ny) + t[2] * nz * nz) \
            + ((t[3] * nx * ny + t[4] * nx * nz) + t[5] * ny * nz)
        linear = (t[6] * nx + t[7] * ny) + t[8] * nz
        out.append(((quadratic + linear) + t[9]).clamp(min=0.0))
    return out


def radiance(lookup: EnvironmentLookup, params: torch.Tensor, dx, dy, dz, lod) -> list[torch.Tensor]:
    """Radiance [r, g, b] seen along camera-space directions (dx, dy, dz; any length), bilinear
    within a cube face of mip level `lod`: an int for every pixel, or a float tensor in
    [0, levels - 1] per pixel (rounded to the nearest level: roughness is mostly constant over
    a surface, and one level costs half of two)."""
    r = [params[ENV_ROTATION + k] for k in range(9)]
    ex = (r[0] * dx + r[1] * dy) + r[2] * dz
    ey = (r[3] * dx + r[4] * dy) + r[5] * dz
    ez = (r[6] * dx + r[7] * dy) + r[8] * dz
    face, s, t = _face_coordinates(ex, ey, ez)
    if torch.is_tensor(lod):
        level = torch.floor(lod.clamp(0.0, lookup.levels - 1.0) + 0.5).long()
        size = lookup.sizes.index_select(0, level)
        offset = lookup.offsets.index_select(0, level)
    else:  # 0-d tensors, not Python floats: a compiled kernel must not turn them into doubles
        size, offset = lookup.sizes[lod], lookup.offsets[lod]
    return _bilinear(lookup, size, offset, face, s, t)


def backdrop_radiance(lookup: EnvironmentLookup, params: torch.Tensor, dx, dy, dz, distance
                      ) -> list[torch.Tensor]:
    """Radiance [r, g, b] of the backdrop cube along camera-space directions (dx, dy, dz; any
    length), trilinear over the pixel's footprint: a pixel of a ray r = (rx, ry, 1) spans about
    1 / (fx |r|) radians, a cube texel 2 m^2 / side radians where m = |e_major| / |e| (e the
    direction in the environment's axes), so rho = side / (2 fx) x |e| / e_major^2 texels for
    the camera's own rays (`distance` 1) and `distance` times that for the environment ground
    (the planar depth of the ground point: its pixel spans depth |r| / (fx |r|) metres, seen
    from |d| away)."""
    r = [params[ENV_ROTATION + k] for k in range(9)]
    ex = (r[0] * dx + r[1] * dy) + r[2] * dz
    ey = (r[3] * dx + r[4] * dy) + r[5] * dz
    ez = (r[6] * dx + r[7] * dy) + r[8] * dz
    face, s, t = _face_coordinates(ex, ey, ez)
    major = torch.maximum(torch.maximum(ex.abs(), ey.abs()), ez.abs()).clamp(min=1e-30)
    e2 = ((ex * ex + ey * ey) + ez * ez).clamp(min=1e-30)
    rho = params[ENV_BACKDROP_SCALE] * distance * (e2 * torch.rsqrt(e2)) / (major * major)
    level0, level1, fraction = mip_level(rho, torch.full_like(face, lookup.backdrop_levels - 1,
                                                              dtype=torch.int64))
    near = _backdrop_bilinear(lookup, level0, face, s, t)
    far = _backdrop_bilinear(lookup, level1, face, s, t)
    return [a + (b - a) * fraction for a, b in zip(near, far)]


def _backdrop_bilinear(lookup: EnvironmentLookup, level, face, s, t) -> list[torch.Tensor]:
    """Bilinear within the face at one backdrop level per pixel (int64 indices: the cube may
    hold more than 2^24 texels)."""
    side = lookup.backdrop_sizes.index_select(0, level)
    offset = lookup.backdrop_offsets.index_select(0, level)
    size = side.float()
    last = size - 1.0
    x = torch.minimum(((s + 1.0) * 0.5 * size - 0.5).clamp(min=0.0), last)
    y = torch.minimum(((t + 1.0) * 0.5 * size - 0.5).clamp(min=0.0), last)
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    x1, y1 = torch.minimum(x0 + 1.0, last), torch.minimum(y0 + 1.0, last)
    base = offset + face.long() * (side * side)
    row0, row1 = base + y0.long() * side, base + y1.long() * side
    index = torch.stack([row0 + x0.long(), row0 + x1.long(), row1 + x0.long(),
                         row1 + x1.long()])
    q = lookup.backdrop_texels.index_select(0, index.reshape(-1)).float().t().reshape(3, 4, -1)
    top = q[:, 0] + (q[:, 1] - q[:, 0]) * fx
    bottom = q[:, 2] + (q[:, 3] - q[:, 2]) * fx
    return list((top + (bottom - top) * fy).unbind(0))


def _face_coordinates(x, y, z):
    """Cube face (float 0..5) and in-face coordinates s, t in [-1, 1] of directions."""
    ax, ay, az = x.abs(), y.abs(), z.abs()
    major_x = (ax >= ay) & (ax >= az)
    major_y = ~major_x & (ay >= az)
    ma = torch.where(major_x, ax, torch.where(major_y, ay, az)).clamp(min=1e-30)
    face = torch.where(major_x, torch.where(x >= 0, 0.0, 1.0),
                       torch.where(major_y, torch.where(y >= 0, 2.0, 3.0),
                                   torch.where(z >= 0, 4.0, 5.0)))
    sc = torch.where(major_x, torch.where(x >= 0, -z, z),
                     torch.where(major_y, x, torch.where(z >= 0, x, -x)))
    tc = torch.where(major_x, -y, torch.where(major_y, torch.where(y >= 0, z, -z), -y))
    return face, sc / ma, tc / ma


def _bilinear(lookup: EnvironmentLookup, size, offset, face, s, t) -> list[torch.Tensor]:
    """Bilinear within the face; `size` and `offset` are per-pixel or 0-d tensors."""
    last = size - 1.0

    def below_last(v):
        return torch.minimum(v, last)

    x = below_last(((s + 1.0) * 0.5 * size - 0.5).clamp(min=0.0))
    y = below_last(((t + 1.0) * 0.5 * size - 0.5).clamp(min=0.0))
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = x - x0, y - y0
    x1, y1 = below_last(x0 + 1.0), below_last(y0 + 1.0)
    base = offset + face * (size * size)
    row0, row1 = base + y0 * size, base + y1 * size
    index = torch.stack([row0 + x0, row0 + x1, row1 + x0, row1 + x1]).long()
    q = take_columns(lookup.texels, index.reshape(-1)).view(3, 4, -1)
    top = q[:, 0] + (q[:, 1] - q[:, 0]) * fx
    bottom = q[:, 2] + (q[:, 3] - q[:, 2]) * fx
    return list((top + (bottom - top) * fy).unbind(0))
