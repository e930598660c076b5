"""Deferred shading of visible pixels: ray/triangle barycentrics, textures, Blinn-Phong light.

Only elementwise +, -, *, /, sqrt, floor and gathers: bit-identical for any thread count or
batch size (no BLAS, no transcendental functions whose vector and scalar paths may differ).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lightpipe.datamodule.specs import VideoSpec
from lightpipe.generation.rasterizer import EMPTY, Intrinsics, key_faces
from lightpipe.generation.scene import Scene


@dataclass(frozen=True)
class Surface:
    """Geometry of the visible surface at covered pixels (flattened over frames)."""

    pixel: torch.Tensor  # (N,) flat index into (Fc*H*W)
    frame: torch.Tensor  # (N,) frame within the chunk
    face: torch.Tensor  # (N,)
    depth: torch.Tensor  # (N,) planar z in metres
    bary: torch.Tensor  # (N,3)
    ray: torch.Tensor  # (N,3) camera ray with z = 1


def visible_surface(keys: torch.Tensor, cam_tris: torch.Tensor, intr: Intrinsics) -> Surface:
    """Intersect each covered pixel's ray with its visible triangle (Moller-Trumbore)."""
    num_frames, height, width = keys.shape
    flat = keys.reshape(-1)
    pixel = torch.nonzero(flat != EMPTY).flatten()
    face = key_faces(flat[pixel])
    frame = torch.div(pixel, height * width, rounding_mode="floor")
    rest = pixel - frame * (height * width)
    py = torch.div(rest, width, rounding_mode="floor")
    px = rest - py * width
    dtype = cam_tris.dtype
    ray = torch.stack([(px.to(dtype) + 0.5 - intr.cx) / intr.fx,
                       (py.to(dtype) + 0.5 - intr.cy) / intr.fy,
                       torch.ones(px.shape, dtype=dtype, device=px.device)], dim=1)
    tri = cam_tris[frame, face]  # (N,3,3)
    v0, e1, e2 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    pvec = _cross(ray, e2)
    det = _dot(e1, pvec)
    det = torch.where(det == 0, torch.full_like(det, 1e-20), det)
    tvec = -v0
    u = _dot(tvec, pvec) / det
    qvec = _cross(tvec, e1)
    v = _dot(ray, qvec) / det
    depth = _dot(e2, qvec) / det
    u = u.clamp(0.0, 1.0)
    v = torch.minimum(v.clamp(min=0.0), 1.0 - u)
    bary = torch.stack([1.0 - u - v, u, v], dim=1)
    return Surface(pixel=pixel, frame=frame, face=face, depth=depth.clamp(min=1e-6), bary=bary,
                   ray=ray)


def shade(surface: Surface, scene: Scene, frame_offset: int, spec: VideoSpec) -> torch.Tensor:
    """Linear RGB in [0,1] (N,3) of each covered pixel."""
    faces = scene.faces[surface.face]  # (N,3)
    part = scene.face_part[surface.face]
    b0, b1, b2 = (surface.bary[:, i : i + 1] for i in range(3))
    normal = (scene.normals[faces[:, 0]] * b0 + scene.normals[faces[:, 1]] * b1) \
        + scene.normals[faces[:, 2]] * b2
    uv = (scene.uvs[faces[:, 0]] * b0 + scene.uvs[faces[:, 1]] * b1) + scene.uvs[faces[:, 2]] * b2
    rotation = scene.model_view[surface.frame + frame_offset, part, :, :3]  # (N,3,3)
    normal = _normalize(_apply(rotation, normal))
    albedo = sample_texture(scene.textures, scene.part_material[part], uv)
    albedo = albedo * scene.part_tint[part]

    light = spec.light
    to_light = scene.light_dir[surface.frame + frame_offset]
    to_eye = _normalize(-surface.ray)
    flip = (_dot(normal, to_eye) < 0).unsqueeze(1)
    normal = torch.where(flip, -normal, normal)
    diffuse = _dot(normal, to_light).clamp(min=0.0).unsqueeze(1)
    half = _normalize(to_light + to_eye)
    specular = _power(_dot(normal, half).clamp(min=0.0), light.shininess).unsqueeze(1)
    specular = torch.where(diffuse > 0, specular, torch.zeros_like(specular))
    light_rgb = torch.tensor(light.color, dtype=albedo.dtype, device=albedo.device) * light.intensity
    color = albedo * light.ambient + (albedo * diffuse + light.specular * specular) * light_rgb
    return color.clamp(0.0, 1.0)


def sample_texture(textures: torch.Tensor, material: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear, wrapping texture lookup; v=0 is the top row."""
    size = textures.shape[1]
    flat = textures.reshape(-1, 3)
    x = uv[:, 0] * size - 0.5
    y = uv[:, 1] * size - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    x0, y0 = x0.long() % size, y0.long() % size
    x1, y1 = (x0 + 1) % size, (y0 + 1) % size
    base = material * (size * size)
    c00, c01 = flat[base + y0 * size + x0], flat[base + y0 * size + x1]
    c10, c11 = flat[base + y1 * size + x0], flat[base + y1 * size + x1]
    top = c00 + (c01 - c00) * fx
    bottom = c10 + (c11 - c10) * fx
    return top + (bottom - top) * fy


def background(spec: VideoSpec, num_frames: int, device: torch.device) -> torch.Tensor:
    """Vertical gradient (Fc,H,W,3) from `top_color` (row 0) to `bottom_color`."""
    rows = torch.arange(spec.height, device=device, dtype=torch.float32)
    t = ((rows + 0.5) / spec.height).view(-1, 1)
    top = torch.tensor(spec.background.top_color, device=device, dtype=torch.float32)
    bottom = torch.tensor(spec.background.bottom_color, device=device, dtype=torch.float32)
    column = top + (bottom - top) * t  # (H,3)
    return column.view(1, spec.height, 1, 3).expand(num_frames, spec.height, spec.width, 3)


def _power(x: torch.Tensor, exponent: int) -> torch.Tensor:
    """x ** exponent by repeated multiplication (exact same bits on every path)."""
    result, base, e = torch.ones_like(x), x, exponent
    while e:
        if e & 1:
            result = result * base
        base, e = base * base, e >> 1
    return result


def _apply(matrix: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    rows = [(matrix[:, i, 0] * v[:, 0] + matrix[:, i, 1] * v[:, 1]) + matrix[:, i, 2] * v[:, 2]
            for i in range(3)]
    return torch.stack(rows, dim=1)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]) + a[:, 2] * b[:, 2]


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
                        a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                        a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], dim=1)


def _normalize(v: torch.Tensor) -> torch.Tensor:
    norm = torch.sqrt(_dot(v, v)).clamp(min=1e-12)
    return v / norm.unsqueeze(1)
