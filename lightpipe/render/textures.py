"""Material textures at their own resolution: uint8 mip chains, sampled anisotropically (two
trilinear taps) over the footprint of the pixel.

Build (numpy, float64, once per material and process, kept in the asset memory's byte bound):
level 0 is the material's maps as 8-bit codes (the linear base colour as round(255 sqrt(v)),
`colour_code`; roughness, metalness, the tangent-space normal as (code - 128) / 127, so a flat
normal is exact); each next level is the 2x2 box average of the one before, in linear light for
the colour, rounded to the nearest code, down to 1x1. A level's normal is the mean of the level-0
normals under its texel, renormalized; the mean's shortening (the normals' spread) widens the
texel's roughness (`toksvig`: specular anti-aliasing, so a minified normal map keeps its sheen,
not its sparkle: a path tracer's pixel averages the highlights of every normal under it). A
texel is 8 bytes; a 2048 map's chain takes 2048^2 x 8 x 4/3 = 43 MiB.

Sample (per pixel, elementwise, the same bits in the eager reference, the compiled path and the
native kernels): the texel coordinates' derivatives along the screen come exactly from the
face's planes (the coordinate is X.r / D.r for the ray r = (rx, ry, 1), so d/drx =
(X_x - coordinate D_x) / D.r); two taps a quarter of the longer screen axis (the major) either
side of the pixel's centre (2x anisotropic filtering, `sample_anisotropic`), each filtered over
rho = max(major / 2, minor) texels: the level is log2(rho) (its integer part by counted
comparisons, the fraction linear in the mantissa, as hardware does), clamped to the chain; each
of the two levels is bilinear and wraps; the two are blended (trilinear). Measured:
benchmarks/texture_sharpness.py and docs/look.md.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from lightpipe.assets.materials import MaterialMaps
from lightpipe.render.camera_response import SRGB_TO_LINEAR
from lightpipe.render.look import MAX_MIP_LEVELS, MIP_LAST, MIP_OFFSETS, MIP_ROW, MIP_SIZE

TEXEL_BYTES = 8
_INVERSE_POWERS = tuple(2.0 ** -k for k in range(MAX_MIP_LEVELS))  # exact in float32
DEFAULT_MAX_TEXTURE_SIZE = 2048  # settings.render.max_texture_size
# The most variance a level's normal spread adds to alpha^2 (Kaplanyan et al. 2016): a texel over
# a ridge or a joint gets rough, not white.
TOKSVIG_MAX_VARIANCE = 0.18


class Textures(NamedTuple):
    """Every material of a scene on a device."""

    texels: torch.Tensor  # (N, TEXEL_BYTES) uint8: every level of every material
    mips: torch.Tensor  # (M, MIP_ROW) int64: level-0 side, last level, first texel per level

    @classmethod
    def create(cls, chains: list[np.ndarray], device) -> Textures:
        """From `mip_chain`s (one per material, in material order)."""
        rows, offset = [], 0
        for chain in chains:
            size = _level0_side(chain.shape[0])
            row = np.zeros(MIP_ROW, np.int64)
            row[MIP_SIZE] = size
            levels = size.bit_length()
            row[MIP_LAST] = levels - 1
            start = offset
            for level in range(levels):
                row[MIP_OFFSETS + level] = start
                start += (size >> level) ** 2
            rows.append(row)
            offset += chain.shape[0]
        texels = torch.from_numpy(np.ascontiguousarray(np.concatenate(chains)))
        return cls(texels.to(device), torch.from_numpy(np.stack(rows)).to(device))


def mip_chain(maps: MaterialMaps) -> np.ndarray:
    """(sum of S_k^2, TEXEL_BYTES) uint8: every level of `maps` (square, a power of two),
    row-major, level 0 first."""
    size = maps.albedo.shape[0]
    if maps.albedo.shape[:2] != (size, size) or size & (size - 1):
        raise ValueError(f"a mip chain needs square power-of-two maps, got {maps.albedo.shape}")
    albedo = SRGB_TO_LINEAR[maps.albedo.astype(np.intp)]
    roughness = np.clip(maps.roughness.astype(np.float64), 0.0, 1.0)
    metal = np.clip(maps.metallic.astype(np.float64), 0.0, 1.0)
    normal = maps.normal.astype(np.float64)
    levels = [_codes(albedo, roughness, metal, normal)]
    mean = normal  # the mean of the level-0 normals over each texel of the level
    while albedo.shape[0] > 1:
        albedo, roughness, metal, mean = (_box(a) for a in (albedo, roughness, metal, mean))
        length = np.sqrt((mean * mean).sum(-1, keepdims=True))
        normal = np.where(length > 1e-12, mean / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
        levels.append(_codes(albedo, toksvig(roughness, length[..., 0]), metal, normal))
    return np.concatenate([level.reshape(-1, TEXEL_BYTES) for level in levels])


def toksvig(roughness: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Perceptual roughness of a texel that averages normals whose mean has length `length`
    (specular anti-aliasing, Toksvig 2005 as Kaplanyan et al. 2016 clamp it): the mean's
    shortening measures the normals' spread, sigma^2 = (1 - |n|) / |n|, which widens the GGX
    lobe: alpha'^2 = alpha^2 + min(2 sigma^2, TOKSVIG_MAX_VARIANCE), alpha = roughness^2."""
    length = np.clip(length, 1e-6, 1.0)
    variance = (1.0 - length) / length
    alpha = roughness * roughness
    return np.sqrt(np.sqrt(alpha * alpha + np.minimum(2.0 * variance, TOKSVIG_MAX_VARIANCE)))


def _codes(albedo, roughness, metal, normal) -> np.ndarray:
    """A level's texels: the linear base colour as its square root's code (`colour_code`), the
    roughness and metalness x 255, the normal as (n + 1) 127.5 rounded, all rounded."""
    out = np.empty((*albedo.shape[:2], TEXEL_BYTES), np.uint8)
    out[..., :3] = colour_code(albedo)
    out[..., 3] = np.rint(roughness * 255.0)
    out[..., 4] = np.rint(metal * 255.0)
    out[..., 5:] = np.rint(np.clip(normal, -1.0, 1.0) * 127.0 + 128.0)  # flat: 128 128 255
    return out


def colour_code(linear: np.ndarray) -> np.ndarray:
    """uint8 codes of linear colour values in [0, 1]: round(255 sqrt(v)), a gamma of 2 that the
    kernels decode with two multiplies, (c / 255)^2, where sRGB's curve took a table read per
    texel and channel (the scalar reads a vector gather cannot do for a byte index). Its darkest
    step, 1.5e-5, is finer than sRGB's first (3.0e-4); at mid-grey one code is 0.85% of the
    value, as sRGB's."""
    return np.rint(np.sqrt(np.clip(linear, 0.0, 1.0)) * 255.0).astype(np.uint8)


def _box(a: np.ndarray) -> np.ndarray:
    return ((a[0::2, 0::2] + a[0::2, 1::2]) + (a[1::2, 0::2] + a[1::2, 1::2])) * 0.25


def _level0_side(count: int) -> int:
    """The level-0 side of a chain of `count` texels."""
    size, total = 1, 1
    while total < count:
        size *= 2
        total = sum((size >> k) ** 2 for k in range(size.bit_length()))
    if total != count:
        raise ValueError(f"{count} texels are not a square power-of-two mip chain")
    return size


# --- sampling (the eager reference; csrc/shade.c `material` is its twin) ---------------------


def mip_level(rho: torch.Tensor, last: torch.Tensor):
    """(level, next level, fraction) of a footprint of `rho` level-0 texels in a chain whose last
    level is `last` (int64): level = floor(log2 rho), the count of the powers of two 2, 4, ...
    that rho reaches, at most `last`; the fraction rho / 2^level - 1 (linear in the mantissa,
    as hardware does), in [0, 1]. (Comparisons and a table of exact powers: no log, and a
    graph Inductor compiles in seconds, where a loop of halvings took minutes; csrc/shade.c
    counts the same comparisons and makes 2^-level from its exponent.)"""
    level = torch.zeros_like(last)
    for k in range(1, MAX_MIP_LEVELS):
        level = level + (rho >= float(2 ** k)).long()
    level = torch.minimum(level, last)
    powers = torch.tensor(_INVERSE_POWERS, dtype=torch.float32, device=rho.device)
    scaled = rho * powers.index_select(0, level)
    return level, torch.minimum(level + 1, last), (scaled - 1.0).clamp(0.0, 1.0)


def sample_anisotropic(textures: Textures, material: torch.Tensor, x, y, sx, tx, sy, ty
                       ) -> list[torch.Tensor]:
    """The 8 channels (linear base colour rgb, roughness, metalness, normal xyz) at level-0 texel
    coordinates (x, y) (texel centres at integers) of `material` (float row of the mip table),
    filtered over the footprint whose screen axes step (sx, tx) and (sy, ty) level-0 texels:
    two trilinear taps a quarter of the longer axis (the major) either side of (x, y), each
    filtered over max(major / 2, minor) and weighted 1/2, as GPUs' 2x anisotropic filtering. A
    footprint twice as long as it is wide keeps its detail across (one tap over the major would
    blur it to the major's length); a round one takes two close taps of the same level."""
    table = textures.mips.view(-1)
    row = material.long() * MIP_ROW
    size0, last = table.index_select(0, row + MIP_SIZE), table.index_select(0, row + MIP_LAST)
    ax, ay = sx * sx + tx * tx, sy * sy + ty * ty
    along_x = ax >= ay
    major2 = torch.maximum(ax, ay).clamp(min=1e-30)
    minor2 = torch.minimum(ax, ay).clamp(min=1e-30)
    ms, mt = torch.where(along_x, sx, sy), torch.where(along_x, tx, ty)
    rho2 = torch.maximum(major2 * 0.25, minor2)
    level0, level1, fraction = mip_level(rho2 * torch.rsqrt(rho2), last)
    x, y = x.clamp(-1e6, 1e6), y.clamp(-1e6, 1e6)
    total = None
    for offset in (-0.25, 0.25):
        u, v = (x + ms * offset).clamp(-1e6, 1e6), (y + mt * offset).clamp(-1e6, 1e6)
        near = _bilinear(textures, row, size0, level0, u, v)
        far = _bilinear(textures, row, size0, level1, u, v)
        tap = [(a + (b - a) * fraction) * 0.5 for a, b in zip(near, far)]
        total = tap if total is None else [t + c for t, c in zip(total, tap)]
    return total


def _bilinear(textures: Textures, row, size0, level, x, y) -> list[torch.Tensor]:
    """Bilinear, wrapping sample of every channel at one level per pixel."""
    size = size0 >> level
    scale = size.float() / size0.float()  # 2^-level: exact
    offset = textures.mips.view(-1).index_select(0, row + MIP_OFFSETS + level)
    lx, ly = (x + 0.5) * scale - 0.5, (y + 0.5) * scale - 0.5
    x0, y0 = torch.floor(lx), torch.floor(ly)
    fx, fy = lx - x0, ly - y0
    mask = size - 1  # a power of two: & wraps negative coordinates too
    ix, iy = x0.long() & mask, y0.long() & mask
    ix1, iy1 = (ix + 1) & mask, (iy + 1) & mask
    row0, row1 = offset + iy * size, offset + iy1 * size
    index = torch.stack([row0 + ix, row0 + ix1, row1 + ix, row1 + ix1]).view(-1)
    q = _decode(textures, textures.texels.index_select(0, index)).view(TEXEL_BYTES, 4, -1)
    out = []
    for c in range(TEXEL_BYTES):
        top = q[c, 0] + (q[c, 1] - q[c, 0]) * fx
        bottom = q[c, 2] + (q[c, 3] - q[c, 2]) * fx
        out.append(top + (bottom - top) * fy)
    return out


def _decode(textures: Textures, q: torch.Tensor) -> torch.Tensor:
    """(TEXEL_BYTES, n) float32 channel values of n texels' codes (n, TEXEL_BYTES)."""
    codes = q.t().long()
    colour = codes[:3].float() / 255.0
    colour = colour * colour
    scalars = codes[3:5].float() / 255.0
    normal = (codes[5:].float() - 128.0) / 127.0
    return torch.cat([colour, scalars, normal])
