"""Render a VideoSpec to color and metric depth frames, in bounded frame chunks, on any device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lightpipe.datamodule.specs import VideoSpec
from lightpipe.generation.rasterizer import Intrinsics, rasterize
from lightpipe.generation.scene import Scene, build_scene
from lightpipe.generation.shading import background, shade, visible_surface


@dataclass(frozen=True)
class RenderedVideo:
    """Frames of one video on the CPU, plus the camera that produced them."""

    color: np.ndarray  # (F,H,W,3) uint8 RGB
    depth: np.ndarray  # (F,H,W) float32 planar z in metres; 0 where no surface
    intrinsics: np.ndarray  # (3,3)
    extrinsics: np.ndarray  # (F,4,4) world -> camera, OpenCV axes


def render_video(spec: VideoSpec, device: torch.device | str = "cpu", frames_per_chunk: int = 8,
                 max_candidates: int = 4_000_000) -> RenderedVideo:
    """Render every frame of `spec`. Output bytes do not depend on chunk sizes or thread count."""
    device = torch.device(device)
    scene = build_scene(spec, device)
    k = scene.intrinsics
    intr = Intrinsics(fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]), cy=float(k[1, 2]))
    color = np.empty((spec.num_frames, spec.height, spec.width, 3), dtype=np.uint8)
    depth = np.empty((spec.num_frames, spec.height, spec.width), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, spec.num_frames, frames_per_chunk):
            stop = min(spec.num_frames, start + frames_per_chunk)
            rgb, z = _render_chunk(spec, scene, intr, start, stop, max_candidates)
            color[start:stop] = rgb.cpu().numpy()
            depth[start:stop] = z.cpu().numpy()
    return RenderedVideo(color=color, depth=depth, intrinsics=k, extrinsics=scene.extrinsics)


def camera_space_triangles(scene: Scene, start: int, stop: int) -> torch.Tensor:
    """Triangles (Fc,T,3,3) in camera space: per-vertex affine transform without BLAS."""
    m = scene.model_view[start:stop][:, scene.vertex_part]  # (Fc,V,3,4)
    v = scene.vertices
    cam = torch.stack([
        ((m[..., i, 0] * v[:, 0] + m[..., i, 1] * v[:, 1]) + m[..., i, 2] * v[:, 2]) + m[..., i, 3]
        for i in range(3)
    ], dim=-1)  # (Fc,V,3)
    return cam[:, scene.faces]


def _render_chunk(spec, scene, intr, start, stop, max_candidates):
    cam_tris = camera_space_triangles(scene, start, stop)
    keys = rasterize(cam_tris, intr, spec.width, spec.height, spec.camera.near, max_candidates)
    surface = visible_surface(keys, cam_tris, intr)
    rgb = shade(surface, scene, start, spec)
    image = background(spec, stop - start, cam_tris.device).reshape(-1, 3).clone()
    image[surface.pixel] = rgb
    image8 = torch.floor(image * 255.0 + 0.5).to(torch.uint8)
    depth = torch.zeros(image.shape[0], dtype=torch.float32, device=image.device)
    depth[surface.pixel] = surface.depth
    shape = (stop - start, spec.height, spec.width)
    return image8.view(*shape, 3), depth.view(shape)
