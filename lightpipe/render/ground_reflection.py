"""The ground's environment reflection: the GGX lobe integrated once per environment, read per
pixel from a table.

A rough surface seen at a grazing angle reflects light from a lobe that stretches from the
horizon high into the sky; the single prefiltered lookup along the mirror direction (what
objects use, `shading.environment`) reads the sky near the horizon only, and a ground seen at a
distance comes out too dark (forest planks: a Monte Carlo integration of their lobe averages
radiance 1.6 where the lookup reads 0.44). Integrating the lobe per pixel costs eight or more
lookups; the ground's normal is the world's up axis, so the integral depends only on the view
direction and the roughness, and is tabulated here once per environment.

The table: GROUND_TABLE_SLICES roughness slices (GROUND_TABLE_ROUGHNESS + k GROUND_TABLE_STEP),
each a GROUND_TABLE_SIDE^2 grid over the upper hemisphere of mirror directions R in the
environment's axes (Y up), hemi-octahedral: a = R.x / (|R.x| + R.y + |R.z|), b likewise with
R.z, the grid's axes s = a + b and t = a - b, from -1 to 1 at its first and last rows. An entry
is the lobe's average radiance for the flat ground seen from v = (-R.x, R.y, -R.z): filtered
importance sampling (Colbert & Krivanek 2007) of GGX's distribution of visible normals (Heitz
2018) at GROUND_TABLE_TAPS Hammersley points, weighted by the light's Smith masking G2/G1, each
tap read from the prefiltered cube at the level whose texel matches its share of the lobe, the
taps below the horizon reading nothing (in a path tracer those rays enter the ground). It is
computed in float64 by one implementation and rounded once to float32, so every path reads the
same table.

Per pixel (`reflected`, and its C twin `ground_reflected` in csrc/shade.c): the mirror direction
of the normal-mapped normal, turned into the environment's axes, clamped to the upper hemisphere,
bilinear on the grid of the nearest roughness slice; blended with the mirror lookup below
GROUND_BLEND_START + GROUND_BLEND_WIDTH (a 32^2 grid cannot hold a sharp reflection).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lightpipe.render import look
from lightpipe.render.look import ENV_ROTATION, ENV_SIZE, GROUND_TABLE_SIDE, GROUND_TABLE_SLICES

__all__ = ["build_table", "reflected", "slice_roughness"]


def slice_roughness() -> list[float]:
    """The perceptual roughness of each slice."""
    return [look.GROUND_TABLE_ROUGHNESS + k * look.GROUND_TABLE_STEP
            for k in range(GROUND_TABLE_SLICES)]


def _radical_inverse(i: int) -> float:
    result, step = 0.0, 0.5
    while i:
        result, i, step = result + step * (i & 1), i >> 1, step * 0.5
    return result


def _unit_circle(n: int) -> list[tuple[float, float]]:
    """(cos, sin) of 2 pi k / n for k < n (n a power of two >= 4) from +, *, / and sqrt only
    (halved angles, then rotations), so every machine computes the same values (numpy's and
    libm's trigonometry may differ in the last bit: docs/determinism.md)."""
    if n < 4 or n & (n - 1):
        raise ValueError(f"GROUND_TABLE_TAPS must be a power of two >= 4, got {n}")
    c, s = 0.0, 1.0  # a quarter turn
    step = 4
    while step < n:  # halve: cos(a/2) = sqrt((1 + cos a) / 2), sin(a/2) = sin a / (2 cos(a/2))
        half = math.sqrt((1.0 + c) * 0.5)
        c, s, step = half, s / (2.0 * half), step * 2
    out, x, y = [], 1.0, 0.0
    for _ in range(n):
        out.append((x, y))
        x, y = x * c - y * s, x * s + y * c
    return out


def _grid_directions() -> np.ndarray:
    """(SIDE * SIDE, 3) unit mirror directions of the grid (row t, column s)."""
    steps = np.linspace(-1.0, 1.0, GROUND_TABLE_SIDE)
    t, s = np.meshgrid(steps, steps, indexing="ij")
    a, b = (s + t) * 0.5, (s - t) * 0.5
    y = np.maximum(1.0 - np.abs(a) - np.abs(b), 0.0)
    d = np.stack([a, y, b], -1).reshape(-1, 3)
    return d / np.sqrt((d[:, :1] * d[:, :1] + d[:, 1:2] * d[:, 1:2]) + d[:, 2:] * d[:, 2:])


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded float64 sqrt (numpy's; ATen's CPU sqrt may go through MKL's VML)."""
    return torch.from_numpy(np.sqrt(x.numpy()))


def _smith_lambda(cos2, alpha2):
    """GGX's Smith Lambda at cos^2 of the angle to the normal: (sqrt(1 + a^2 tan^2) - 1) / 2."""
    return (_sqrt(alpha2 * ((1.0 - cos2).clamp(min=0.0) / cos2) + 1.0) - 1.0) * 0.5


def build_table(lookup, radiance, taps: int | None = None) -> torch.Tensor:
    """(3, SLICES * SIDE * SIDE) float32 table of a prefiltered cube (see the module's
    docstring): `lookup` is its `environment.EnvironmentLookup` in float64 and `radiance` is
    `environment.radiance` (passed in: the environment module builds the table)."""
    taps = look.GROUND_TABLE_TAPS if taps is None else taps
    size0 = float(lookup.sizes[0])
    params = torch.zeros(ENV_SIZE, dtype=torch.float64)
    params[ENV_ROTATION + 0] = params[ENV_ROTATION + 4] = params[ENV_ROTATION + 8] = 1.0

    mirror = torch.from_numpy(_grid_directions())  # (G, 3)
    grid = mirror.shape[0]
    roughness = torch.tensor(slice_roughness(), dtype=torch.float64)
    alpha = (roughness * roughness).repeat_interleave(grid)  # (E,)
    alpha2 = alpha * alpha
    rx, ry, rz = (mirror[:, k].repeat(GROUND_TABLE_SLICES) for k in range(3))
    # The lobe's frame: up n, t2 along v's horizontal part (-R.x, 0, -R.z), t1 = t2 x n.
    horizontal = _sqrt(rx * rx + rz * rz)
    head_on = horizontal < 1e-12
    t2x = torch.where(head_on, 1.0, -rx / horizontal.clamp(min=1e-30))
    t2z = torch.where(head_on, 0.0, -rz / horizontal.clamp(min=1e-30))
    t1x, t1z = -t2z, t2x  # (t2x, 0, t2z) x (0, 1, 0)
    n_v = ry.clamp(min=1e-4, max=1.0)
    sv = _sqrt(1.0 - n_v * n_v)
    hy, hz = alpha * sv, n_v  # Heitz's stretched view direction in (t2, n)
    inv_h = 1.0 / _sqrt(hy * hy + hz * hz)
    hy, hz = hy * inv_h, hz * inv_h
    s = (hz + 1.0) * 0.5
    lambda_v = _smith_lambda(n_v * n_v, alpha2)
    g1_v = 1.0 / (lambda_v + 1.0)
    share_scale = size0 * size0 * (6.0 / (4.0 * math.pi * taps)) * (4.0 * n_v) / g1_v
    # Every tap of every entry at once (taps first), summed over the taps in their order.
    u1 = torch.tensor([(i + 0.5) / taps for i in range(taps)], dtype=torch.float64)[:, None]
    circle = _unit_circle(taps)  # the angle 2 pi radical_inverse(i) is a multiple of 2 pi / taps
    turns = [round(_radical_inverse(i) * taps) for i in range(taps)]
    radius = _sqrt(u1)
    p1 = radius * torch.tensor([circle[k][0] for k in turns], dtype=torch.float64)[:, None]
    p2_round = radius * torch.tensor([circle[k][1] for k in turns],
                                     dtype=torch.float64)[:, None]
    p2_flat = _sqrt((1.0 - p1 * p1).clamp(min=0.0))
    p2 = (1.0 - s) * p2_flat + s * p2_round
    p3 = _sqrt((1.0 - p1 * p1 - p2 * p2).clamp(min=0.0))
    # The visible normal in the stretched frame, unstretched: m = (a Nx, a Ny, Nz).
    my = alpha * (p3 * hy - p2 * hz)
    mz = (p2 * hy + p3 * hz).clamp(min=1e-6)
    mx = alpha * -p1
    inv_m = 1.0 / _sqrt(mx * mx + my * my + mz * mz)
    mx, my, mz = mx * inv_m, my * inv_m, mz * inv_m
    v_m = sv * my + n_v * mz
    lx, ly, lz = 2.0 * v_m * mx, 2.0 * v_m * my - sv, 2.0 * v_m * mz - n_v
    dx, dy, dz = lx * t1x + ly * t2x, lz, lx * t1z + ly * t2z
    masking = (lambda_v + 1.0) / (lambda_v + 1.0 + _smith_lambda((lz * lz).clamp(min=1e-8),
                                                                 alpha2))
    masking = torch.where(lz > 0.0, masking, 0.0)
    denominator = (mz * mz) * (alpha2 - 1.0) + 1.0
    share = share_scale * (denominator * denominator) / alpha2 * math.pi  # / D(m)
    level = torch.zeros_like(share)
    for k in range(1, lookup.levels):  # 0.5 log2(share), rounded: 4^(k - 1/2) <= share
        level = level + torch.where(share >= float(2.0 ** (2 * k - 1)), 1.0, 0.0)
    seen = radiance(lookup, params, dx.reshape(-1), dy.reshape(-1), dz.reshape(-1),
                              level.reshape(-1))
    kept = torch.where(dy > 0.0, masking, 0.0)
    total = torch.zeros((3, rx.shape[0]), dtype=torch.float64)
    weight = torch.zeros_like(rx)
    for i in range(taps):
        for c in range(3):
            total[c] += seen[c].view(taps, -1)[i] * kept[i]
        weight += masking[i]
    return (total / weight.clamp(min=1e-12)).to(torch.float32).contiguous()


def reflected(table: torch.Tensor, frame_env: torch.Tensor, mirror: list,
              roughness: torch.Tensor, ground: torch.Tensor, dx, dy, dz) -> list[torch.Tensor]:
    """The environment light [r, g, b] reflected by pixels whose single mirror lookup is
    `mirror`, along camera-space mirror directions (dx, dy, dz) (any length), at perceptual
    `roughness`: for the ground (`ground`, bool) the table's value blended in by roughness, for
    other surfaces `mirror` as it is."""
    values = look.kernel_values()
    r0, inv_step = values["ground_roughness"], values["ground_inv_step"]
    blend_start, inv_blend = values["ground_blend_start"], values["ground_inv_blend"]
    r = [frame_env[ENV_ROTATION + k] for k in range(9)]
    ex = (r[0] * dx + r[1] * dy) + r[2] * dz
    ey = ((r[3] * dx + r[4] * dy) + r[5] * dz).clamp(min=0.0)
    ez = (r[6] * dx + r[7] * dy) + r[8] * dz
    inv = torch.reciprocal(((ex.abs() + ey) + ez.abs()).clamp(min=1e-30))
    a, b = ex * inv, ez * inv
    half = 0.5 * (GROUND_TABLE_SIDE - 1)
    x = ((a + b) + 1.0) * half
    y = ((a - b) + 1.0) * half
    x0 = torch.floor(x).clamp(0.0, GROUND_TABLE_SIDE - 2.0)
    y0 = torch.floor(y).clamp(0.0, GROUND_TABLE_SIDE - 2.0)
    fx, fy = x - x0, y - y0
    level = torch.floor(((roughness - r0) * inv_step + 0.5).clamp(0.0, GROUND_TABLE_SLICES - 1.0))
    base = (level * float(GROUND_TABLE_SIDE) + y0) * float(GROUND_TABLE_SIDE) + x0
    index = torch.stack([base, base + 1.0, base + float(GROUND_TABLE_SIDE),
                         base + float(GROUND_TABLE_SIDE + 1)]).long().view(-1)
    q = table.index_select(1, index).view(3, 4, -1)
    top = q[:, 0] + (q[:, 1] - q[:, 0]) * fx
    bottom = q[:, 2] + (q[:, 3] - q[:, 2]) * fx
    tabled = top + (bottom - top) * fy
    weight = ((roughness - blend_start) * inv_blend).clamp(0.0, 1.0)
    return [torch.where(ground, m + (tabled[c] - m) * weight, m) for c, m in enumerate(mirror)]
