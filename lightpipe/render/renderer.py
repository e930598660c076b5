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

from lightpipe.assets.loader import load_backdrop
from lightpipe.config.settings import Settings
from lightpipe.planning.specs import VideoSpec
from lightpipe.render.allocator import keep_freed_memory
from lightpipe.render.antialias import SilhouetteAntialiasing
from lightpipe.render.kernels import Kernels
from lightpipe.render.rasterizer import Intrinsics, rasterize, take_columns
from lightpipe.render.scene import Scene, build_scene
from lightpipe.render.shading import (
    SHININESS,
    TEXTURE_SIZE,
    background_rows,
    frame_light,
    pixel_rays,
    shade_covered,
    shade_faces,
    surface_planes,
)
from lightpipe.render.shadows import ShadowCaster

PIXEL_BLOCK = 1 << 17  # pixels shaded at once: small enough that CPU temporaries recycle heap


@dataclass(frozen=True)
class RenderOptions:
    """What to render beyond color and depth, and how (all deterministic)."""

    asset_root: str | None = None
    shadows: bool = False
    antialias: int = 1  # k: silhouette pixels are resolved from k x k samples
    segmentation: bool = False
    normals: bool = False
    compile: bool = False  # torch.compile the CPU kernels (`kernels`): faster, same bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderOptions:
        """The options `settings.render`, `settings.outputs` and `settings.assets` ask for."""
        render = settings.render
        return cls(asset_root=settings.assets.root, shadows=render.shadows,
                   antialias=render.antialias, compile=render.compile,
                   segmentation="segmentation" in settings.outputs,
                   normals="normals" in settings.outputs)


@dataclass(frozen=True)
class RenderedVideo:
    """Frames of one video on the CPU, plus the camera that produced them."""

    color: np.ndarray  # (F,H,W,3) uint8 RGB
    depth: np.ndarray  # (F,H,W) float32 planar z in metres; 0 where no surface
    intrinsics: np.ndarray  # (3,3)
    extrinsics: np.ndarray  # (F,4,4) world -> camera, OpenCV axes
    segmentation: np.ndarray | None = None  # (F,H,W) uint16: 0 sky, 1 ground, 2+k object k
    normals: np.ndarray | None = None  # (F,H,W,3) float32 camera-space unit normals; 0 = none


def render_video(spec: VideoSpec, device: torch.device | str = "cpu", frames_per_chunk: int = 4,
                 max_candidates: int = 4_000_000, options: RenderOptions = RenderOptions()
                 ) -> RenderedVideo:
    """Render every frame of `spec`. Output bytes do not depend on chunk sizes or thread count."""
    device = torch.device(device)
    shape = (spec.num_frames, spec.height, spec.width)
    # Allocated by torch, not numpy: numpy asks for transparent huge pages (madvise), and where
    # the kernel then compacts memory on first touch that costs ~4x (1.5 vs 0.35 ms per frame).
    color = torch.empty((*shape, 3), dtype=torch.uint8).numpy()
    depth = torch.empty(shape, dtype=torch.float32).numpy()
    segmentation = torch.zeros(shape, dtype=torch.int32).numpy() if options.segmentation else None
    normals = torch.zeros((*shape, 3), dtype=torch.float32).numpy() if options.normals else None
    keep_freed_memory()
    kernels = Kernels(options.compile and device.type == "cpu")  # CUDA: eager (see `kernels`)
    with torch.inference_mode():
        scene = build_scene(spec, device, options.asset_root)
        k = scene.intrinsics
        intr = Intrinsics(fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]),
                          cy=float(k[1, 2]))
        rays = pixel_rays(intr, spec.width, spec.height, device)
        backdrop = _backdrop(spec, options.asset_root, device)
        shadow = ShadowCaster.create(spec, scene, device) if options.shadows else None
        texels = scene.texels.t().contiguous() if kernels.rows else scene.texels
        for start in range(0, spec.num_frames, frames_per_chunk):
            stop = min(spec.num_frames, start + frames_per_chunk)
            tris, vertex_normals = camera_space(scene, start, stop, kernels)
            keys = rasterize(tris, intr, spec.width, spec.height, spec.camera.near,
                             max_candidates, kernels)
            planes = kernels(surface_planes)(tris, vertex_normals, scene.face_uv,
                                             scene.face_info, TEXTURE_SIZE, kernels.rows)
            maps = shadow.maps(tris, start, stop, spec.camera.near, max_candidates, kernels) \
                if shadow else None
            fine = SilhouetteAntialiasing.create(tris, intr, spec, options.antialias, kernels) \
                if options.antialias > 1 else None
            for f in range(stop - start):
                frame = start + f
                shading = _FrameShading(
                    planes[f], texels, _frame_light(spec, scene, frame, device),
                    shadow.lookup(maps[f], frame) if shadow else None, kernels)
                outputs = _FrameOutputs(
                    torch.from_numpy(color[frame]), torch.from_numpy(depth[frame]),
                    None if segmentation is None else torch.from_numpy(segmentation[frame]),
                    None if normals is None else torch.from_numpy(normals[frame]))
                work = outputs if device.type == "cpu" else outputs.on(device)
                _shade_frame(keys[f].view(-1), shading, rays, backdrop, scene, work)
                if fine is not None:
                    fine.resolve(f, keys[f].view(-1), shading, backdrop, scene, work.rgb)
                if work is not outputs:
                    outputs.copy_from(work)
    return RenderedVideo(color=color, depth=depth, intrinsics=k, extrinsics=scene.extrinsics,
                         segmentation=None if segmentation is None else
                         segmentation.astype(np.uint16), normals=normals)


def camera_space(scene: Scene, start: int, stop: int, kernels: Kernels = Kernels()
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertex positions and normals of every face (Fc,T,3,3) of frames [start, stop) in camera
    space, without BLAS. Both are views of planar (vertex, xyz, Fc, T) tensors, the layout the
    rasterizer and `surface_planes` work in."""
    return kernels(_camera_space)(scene.model_view[start:stop], scene.vertex_part,
                                  scene.vertices, scene.normals, scene.faces)


def _camera_space(model_view, vertex_part, vertices, normals, faces):
    """`camera_space` from the `Scene`'s tensors; model_view (Fc, P, 3, 4) of the chunk."""
    num_frames = model_view.shape[0]
    model_view = model_view.reshape(num_frames, -1, 12).permute(2, 0, 1)
    m = take_columns(model_view, vertex_part)  # (12, Fc, V)
    (vx, vy, vz), (nx, ny, nz) = vertices.unbind(1), normals.unbind(1)
    pos = torch.stack([((m[4 * i] * vx + m[4 * i + 1] * vy) + m[4 * i + 2] * vz) + m[4 * i + 3]
                       for i in range(3)])
    nrm = torch.stack([(m[4 * i] * nx + m[4 * i + 1] * ny) + m[4 * i + 2] * nz
                       for i in range(3)])
    corners = faces.t()
    return tuple(torch.stack([take_columns(t, c) for c in corners]).permute(2, 3, 0, 1)
                 for t in (pos, nrm))


@dataclass(frozen=True)
class _FrameShading:
    """What shading one frame needs besides the pixels: its `surface_planes` (layout per
    `kernels.rows`), the texels (likewise), the light and the shadow lookup (or None)."""

    planes: torch.Tensor
    texels: torch.Tensor
    light: torch.Tensor
    shadow: tuple[torch.Tensor, torch.Tensor] | None
    kernels: Kernels

    @property
    def shininess(self):
        """The exponent as an int (eager) or as the light's entry (compiled: no retracing)."""
        if self.kernels.compiled:
            return self.light[SHININESS]
        return int(self.light[SHININESS])

    def faces(self, face, rays, want_normals: bool = False):
        """`shading.shade_faces` of these pixels."""
        return self.kernels(shade_faces)(self.planes, face, rays, self.texels, self.light,
                                         self.shininess, self.shadow, want_normals,
                                         self.kernels.rows)

    def covered(self, keys, pixel, rays, want_normals: bool = False):
        """`shading.shade_covered` of these covered pixels of the frame's z-buffer `keys`."""
        return self.kernels(shade_covered)(keys, pixel, self.planes, rays, self.texels,
                                           self.light, self.shininess, self.shadow,
                                           want_normals, self.kernels.rows)


@dataclass
class _FrameOutputs:
    """One frame's output views; `on(device)` gives device buffers to copy back after shading."""

    rgb: torch.Tensor  # (H, W, 3) uint8
    depth: torch.Tensor  # (H, W) float32
    segmentation: torch.Tensor | None  # (H, W) int32
    normals: torch.Tensor | None  # (H, W, 3) float32

    def on(self, device) -> _FrameOutputs:
        return _FrameOutputs(*(None if t is None else torch.empty_like(t, device=device)
                               for t in (self.rgb, self.depth, self.segmentation, self.normals)))

    def copy_from(self, other: _FrameOutputs) -> None:
        for mine, theirs in zip((self.rgb, self.depth, self.segmentation, self.normals),
                                (other.rgb, other.depth, other.segmentation, other.normals)):
            if mine is not None:
                mine.copy_(theirs)


def _shade_frame(keys, shading: _FrameShading, rays, backdrop, scene, out) -> None:
    """One frame: z-buffer keys (H*W,) into the frame's outputs over the backdrop (H*W, 3);
    depth 0, segmentation 0 and normals 0 where there is no surface."""
    rgb, depth = out.rgb.view(-1, 3), out.depth.view(-1)
    rgb.copy_(backdrop)
    depth.zero_()
    covered = torch.nonzero(keys >= 0).view(-1)  # EMPTY is -1, real keys are >= 0
    for pixel in covered.split(PIXEL_BLOCK):
        face, block_rgb, block_depth, block_normals = shading.covered(
            keys, pixel, rays, out.normals is not None)
        rgb.index_copy_(0, pixel, block_rgb)
        depth.index_copy_(0, pixel, block_depth)
        if out.normals is not None:
            out.normals.view(-1, 3).index_copy_(0, pixel, block_normals.t())
        if out.segmentation is not None:  # 1 + part: 1 ground, 2 + k object k
            ids = scene.face_part.index_select(0, face) + 1
            out.segmentation.view(-1).index_copy_(0, pixel, ids.to(torch.int32))


def _backdrop(spec: VideoSpec, asset_root: str | None, device) -> torch.Tensor:
    """(H*W, 3) uint8: the background image (cover-cropped) or the sky gradient."""
    if spec.background.image_id:
        image = load_backdrop(asset_root, spec.background.image_id, spec.width, spec.height)
        return torch.from_numpy(np.array(image)).to(device).view(-1, 3)  # a writable copy
    rows = background_rows(spec.background.top_color, spec.background.bottom_color,
                           spec.height, device)
    return rows.view(-1, 1, 3).expand(spec.height, spec.width, 3).reshape(-1, 3)


def _frame_light(spec: VideoSpec, scene: Scene, frame: int, device) -> torch.Tensor:
    light = spec.light
    return frame_light([float(x) for x in scene.light_dir[frame]],
                       [float(c) * light.intensity for c in light.color], light.ambient,
                       light.specular, light.shininess, device)
