"""Render a VideoSpec to color and metric depth frames, in bounded frame chunks, on any device.

Per chunk of frames: transform to camera space without BLAS, rasterize an exact z-buffer of all
frames (`rasterizer`), precompute per (frame, face) shading planes, then shade each frame's
covered pixels in blocks of at most PIXEL_BLOCK (`shading`), writing straight into the output
arrays on CPU. Every step is elementwise or order-independent, so the bytes do not depend on
`frames_per_chunk`, `max_candidates`, block sizes, thread count or scheduling. On CPU the
rasterizer caps its chunks below `max_candidates` (CPU_CHUNK): memory stays bounded either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lightpipe.datamodule.specs import VideoSpec
from lightpipe.generation.rasterizer import FACE_MASK, Intrinsics, rasterize, take_columns
from lightpipe.generation.scene import TEXTURE_SIZE, Scene, build_scene
from lightpipe.generation.shading import (
    FrameLight,
    background_rows,
    pixel_rays,
    shade_pixels,
    surface_planes,
)

PIXEL_BLOCK = 1 << 17  # pixels shaded at once: small enough that CPU temporaries recycle heap


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
    color = np.empty((spec.num_frames, spec.height, spec.width, 3), dtype=np.uint8)
    depth = np.empty((spec.num_frames, spec.height, spec.width), dtype=np.float32)
    with torch.inference_mode():
        scene = build_scene(spec, device)
        k = scene.intrinsics
        intr = Intrinsics(fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]),
                          cy=float(k[1, 2]))
        rays = pixel_rays(intr, spec.width, spec.height, device)
        sky = background_rows(spec.background.top_color, spec.background.bottom_color,
                              spec.height, device)
        for start in range(0, spec.num_frames, frames_per_chunk):
            stop = min(spec.num_frames, start + frames_per_chunk)
            tris, normals = camera_space(scene, start, stop)
            keys = rasterize(tris, intr, spec.width, spec.height, spec.camera.near, max_candidates)
            planes = surface_planes(tris, normals, scene.face_uv, scene.face_info, TEXTURE_SIZE)
            for f in range(stop - start):
                out = torch.from_numpy(color[start + f]), torch.from_numpy(depth[start + f])
                buffers = out if device.type == "cpu" else [torch.empty_like(t, device=device)
                                                            for t in out]
                _shade_frame(keys[f].view(-1), planes[f], rays, sky, scene,
                             _frame_light(spec, scene, start + f), *buffers)
                if buffers is not out:
                    for t, buffer in zip(out, buffers):
                        t.copy_(buffer)
    return RenderedVideo(color=color, depth=depth, intrinsics=k, extrinsics=scene.extrinsics)


def camera_space(scene: Scene, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertex positions and normals of every face (Fc,T,3,3) in camera space, without BLAS.

    Both are views of planar (vertex, xyz, Fc, T) tensors, the layout the rasterizer and
    `surface_planes` work in.
    """
    num_frames = stop - start
    model_view = scene.model_view[start:stop].reshape(num_frames, -1, 12).permute(2, 0, 1)
    m = take_columns(model_view, scene.vertex_part)  # (12, Fc, V)
    (vx, vy, vz), (nx, ny, nz) = scene.vertices.unbind(1), scene.normals.unbind(1)
    pos = torch.stack([((m[4 * i] * vx + m[4 * i + 1] * vy) + m[4 * i + 2] * vz) + m[4 * i + 3]
                       for i in range(3)])
    nrm = torch.stack([(m[4 * i] * nx + m[4 * i + 1] * ny) + m[4 * i + 2] * nz
                       for i in range(3)])
    corners = scene.faces.t()
    return tuple(torch.stack([take_columns(t, c) for c in corners]).permute(2, 3, 0, 1)
                 for t in (pos, nrm))


def _shade_frame(keys, planes, rays, sky, scene, light, rgb, depth) -> None:
    """One frame: z-buffer keys (H*W,) and planes (NUM_PLANES, T) into rgb (H, W, 3) uint8 over
    the sky gradient and depth (H, W) float32 (0: no surface)."""
    rgb.copy_(sky.view(-1, 1, 3).expand(rgb.shape))
    depth.zero_()
    rgb, depth = rgb.view(-1, 3), depth.view(-1)
    covered = torch.nonzero(keys >= 0).view(-1)  # EMPTY is -1, real keys are >= 0
    for pixel in covered.split(PIXEL_BLOCK):
        face = keys.index_select(0, pixel) & FACE_MASK
        block_rgb, block_depth = shade_pixels(
            take_columns(planes, face), take_columns(rays, pixel), scene.texels, TEXTURE_SIZE,
            light)
        rgb.index_copy_(0, pixel, block_rgb)
        depth.index_copy_(0, pixel, block_depth)


def _frame_light(spec: VideoSpec, scene: Scene, frame: int) -> FrameLight:
    light = spec.light
    return FrameLight(direction=tuple(float(x) for x in scene.light_dir[frame]),
                      rgb=tuple(float(c) * light.intensity for c in light.color),
                      ambient=light.ambient, specular=light.specular, shininess=light.shininess)
