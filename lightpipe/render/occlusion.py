"""Screen-space ambient occlusion: how much of the sky a visible point sees past nearby geometry.

For each shaded point P with normal n, a fixed set of points in the hemisphere above P (within
AO_RADIUS metres) is projected into the frame (off the frame: its border); a sample counts as
blocked when the z-buffer there holds a surface in front of it (and not more than AO_RADIUS in
front: distant foreground does not occlude). The fraction blocked darkens the environment light (not the sun: shadows do that).
Counts of comparisons: exact, whatever the order. The frame's depth comes straight from the
z-buffer keys (1/depth in their high bits).
"""

from __future__ import annotations

import math

import torch

from lightpipe.render import look
from lightpipe.render.zbuffer import Intrinsics, key_inverse_depth

# The look of the occlusion (radius, bias, strength, samples) is in `look` (AO_*), which the
# native kernels read too. Hemisphere samples (tangent x, bitangent y, normal z), lengths from
# 0.3 to 1 (x AO_RADIUS), spread over azimuth by the golden angle; fixed, so every frame and
# device agrees.
SAMPLES = look.AO_SAMPLES


def _kernel() -> list[tuple[float, float, float]]:
    points = []
    for i in range(SAMPLES):
        azimuth = i * 2.399963229728653  # golden angle
        elevation = math.radians(15.0 + 60.0 * (i % 4) / 3.0)
        length = 0.3 + 0.7 * (i + 0.5) / SAMPLES
        points.append((length * math.cos(elevation) * math.cos(azimuth),
                       length * math.cos(elevation) * math.sin(azimuth),
                       length * math.sin(elevation)))
    return points


KERNEL = _kernel()


def occlusion_parameters(intr: Intrinsics, width: int, height: int, device) -> torch.Tensor:
    """(OCC_PARAMS,) float32 (the layout is in `look`): fx, fy, cx, cy, width, height."""
    params = [0.0] * look.OCC_PARAMS
    params[look.OCC_INTRINSICS:look.OCC_INTRINSICS + 4] = [intr.fx, intr.fy, intr.cx, intr.cy]
    params[look.OCC_WIDTH], params[look.OCC_HEIGHT] = float(width), float(height)
    return torch.tensor(params, dtype=torch.float32, device=device)


def frame_inverse_depth(keys: torch.Tensor) -> torch.Tensor:
    """(H*W,) 1/depth of the frame's z-buffer, 0 where no surface."""
    return key_inverse_depth(keys)


def ambient_occlusion(inverse_depth: torch.Tensor, params: torch.Tensor, px, py, pz,
                      nx, ny, nz) -> torch.Tensor:
    """(N,) in [0, 1], 1 = open sky, at camera-space points P with unit normals n."""
    fx, fy, cx, cy = (params[look.OCC_INTRINSICS + i] for i in range(4))
    width, height = params[look.OCC_WIDTH], params[look.OCC_HEIGHT]
    # A tangent frame: t = normalize(a x n) with a the axis least aligned with n.
    radius, keep = look.AO_RADIUS, look.ao_keep()
    use_x = ny.abs() > look.AO_AXIS
    ax, ay = torch.where(use_x, 1.0, 0.0), torch.where(use_x, 0.0, 1.0)
    tx, ty, tz = ay * nz, -ax * nz, ax * ny - ay * nx
    inv_t = torch.rsqrt(((tx * tx + ty * ty) + tz * tz).clamp(min=1e-20))
    tx, ty, tz = tx * (inv_t * radius), ty * (inv_t * radius), tz * (inv_t * radius)
    bx, by, bz = ny * tz - nz * ty, nz * tx - nx * tz, nx * ty - ny * tx  # |b| = radius
    rx, ry, rz = nx * radius, ny * radius, nz * radius
    # In pixels: u = x fx / z + cx. Samples off the frame read the border (clamped index).
    qx, qy = px * fx, py * fy
    blocked = torch.zeros_like(px)
    for kx, ky, kz in KERNEL:
        sz = (pz + (tz * kx + bz * ky)) + rz * kz
        inv_sz = torch.reciprocal(sz.clamp(min=1e-3))
        u = torch.floor(((qx + ((tx * kx + bx * ky) + rx * kz) * fx) * inv_sz + cx)
                        .clamp(0.0, 1e6)).minimum(width - 1.0)
        v = torch.floor(((qy + ((ty * kx + by * ky) + ry * kz) * fy) * inv_sz + cy)
                        .clamp(0.0, 1e6)).minimum(height - 1.0)
        scene = inverse_depth.index_select(0, (u + v * width).long())  # 1 / depth seen there
        # In front of the sample (scene depth < sz (1 - AO_BIAS)) but within the radius of it.
        hit = (scene * (sz * keep) > 1.0) & (scene * (sz - radius) < 1.0)
        blocked = blocked + hit.to(blocked.dtype)
    return (1.0 - blocked * look.ao_scale()).clamp(0.0, 1.0)
