"""Render a VideoSpec to color and metric depth frames, in bounded frame chunks, on any device.

Per chunk of frames: transform to camera space without BLAS, rasterize an exact z-buffer of all
frames (`rasterizer`), precompute per (frame, face) shading planes, render the sun's shadow
moments (`shadows`), then per frame shade the covered pixels (`shading`) into a linear-radiance
buffer over the environment (or backdrop image), re-resolve silhouettes (`antialias`), and map
the radiance to 8-bit codes with the camera response (`camera_response`), writing straight into
the output arrays on CPU. Each kernel runs on the render's `backend` (eager PyTorch, compiled or
native C: the same bytes). Every step is elementwise or order-independent, so the bytes do not
depend on `frames_per_chunk`, `max_candidates`, block sizes, thread count or scheduling. On CPU
the rasterizer caps its chunks below `max_candidates` (CPU_CHUNK): memory stays bounded either
way.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import torch

from lightpipe.assets.loader import load_backdrop
from lightpipe.assets.simplify import DEFAULT_MAX_TRIANGLES
from lightpipe.config.settings import Settings
from lightpipe.dataset.object_meta import ObjectsMeta
from lightpipe.dataset.outputs import selected
from lightpipe.dataset.vace.tasks import reference_frames
from lightpipe.physics.records import PhysicsMeta
from lightpipe.planning.specs import VideoSpec
from lightpipe.render import backend as backends
from lightpipe.render import camera_response, depth_of_field, kinematics, look, motion, native
from lightpipe.render import environment as env_light
from lightpipe.render import references
from lightpipe.render.allocator import keep_freed_memory
from lightpipe.render.annotations import object_annotations
from lightpipe.render.antialias import SilhouetteAntialiasing
from lightpipe.render.backend import Backend
from lightpipe.render.lighting import VideoLighting, video_lighting
from lightpipe.render.occlusion import KERNEL, occlusion_parameters
from lightpipe.render.references import ObjectReferences
from lightpipe.render.scene import Scene, build_scene, has_projected_ground, simulated_motion
from lightpipe.render.shading import (
    environment_brdf_table,
    frame_light,
    pixel_rays,
    shade_covered,
    shade_faces,
    surface_planes,
)
from lightpipe.render.shadows import ShadowCaster
from lightpipe.render.surface import surface_frame
from lightpipe.render.textures import DEFAULT_MAX_TEXTURE_SIZE, Textures
from lightpipe.render.zbuffer import Intrinsics, take_columns

_OCCLUSION_KERNEL = torch.tensor(KERNEL, dtype=torch.float32).reshape(-1)  # for `native`
# (frame, face) pairs per chunk: each costs about 0.7 KB at the chunk's peak (camera-space
# corners and normals, shading planes, silhouette planes, shadow casters, temporaries), so a
# chunk of a heavy mesh holds fewer frames (down to one) and memory does not grow with
# triangles x frames_per_chunk. Chunking never changes a byte.
MAX_FACE_FRAMES = 1 << 20


def chunk_frames(frames_per_chunk: int, num_faces: int) -> int:
    """Frames per chunk for a scene of `num_faces` faces: `frames_per_chunk`, fewer when the
    chunk would hold more than `MAX_FACE_FRAMES` (frame, face) pairs, at least 1."""
    return max(1, min(frames_per_chunk, MAX_FACE_FRAMES // max(1, num_faces)))


@dataclass(frozen=True)
class RenderOptions:
    """What to render beyond color and depth, and how (all deterministic)."""

    asset_root: str | None = None
    max_triangles: int = DEFAULT_MAX_TRIANGLES  # user meshes' budget (`assets.simplify`)
    # texels per side of the largest mip level (settings.render.max_texture_size)
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE
    shadows: bool = False
    ambient_occlusion: bool = False
    antialias: int = 1  # k: silhouette pixels are resolved from k x k samples
    segmentation: bool = False
    normals: bool = False
    compile: bool = False  # torch.compile the CPU tensor functions (`backend`): faster, same bytes
    native: bool = True  # the C kernels (`native`) on CPU where built, unless compile: same bytes
    motion_blur_samples: int = 4  # instants per frame when the spec has a shutter
    flow: bool = False  # forward and backward optical flow with their flags (`motion`)
    object_coordinates: bool = False  # object pixels' normalized mesh-frame points (`motion`)
    objects: bool = False  # per-object annotations (`annotations`): boxes, poses, velocities
    references: bool = False  # each object alone on white in a planned frame (`references`)

    @property
    def ids(self) -> bool:
        """Whether the render draws the segmentation ids (asked for, or needed by another
        output)."""
        return self.segmentation or self.objects or self.flow or self.object_coordinates

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderOptions:
        """The options `settings.render`, `settings.outputs` and `settings.assets` ask for: each
        selected output's `renders` flags (the output registry)."""
        render = settings.render
        products = {flag for output in selected(settings.outputs) for flag in output.renders}
        return cls(asset_root=settings.assets.root,
                   max_triangles=settings.assets.max_triangles,
                   max_texture_size=render.max_texture_size, shadows=render.shadows,
                   ambient_occlusion=render.ambient_occlusion,
                   antialias=render.antialias, compile=render.compile, native=render.native,
                   motion_blur_samples=render.motion_blur_samples,
                   **{flag: True for flag in sorted(products)})


@dataclass(frozen=True)
class RenderedVideo:
    """Frames of one video on the CPU, plus the camera that produced them."""

    color: np.ndarray  # (F,H,W,3) uint8 RGB
    depth: np.ndarray  # (F,H,W) float32 planar z in metres; 0 where no surface
    intrinsics: np.ndarray  # (3,3)
    extrinsics: np.ndarray  # (F,4,4) world -> camera, OpenCV axes
    # (F,H,W) uint16: 0 sky, 1 ground, 2+k object k; whenever the ids were drawn
    # (`RenderOptions.ids`): the writer decides from settings.outputs which files to write
    segmentation: np.ndarray | None = None
    normals: np.ndarray | None = None  # (F,H,W,3) float32 camera-space unit normals; 0 = none
    # `motion`'s flow (F,H,W,2) float32 pixels (dx right, dy down) towards frame t+1 / t-1, and
    # its flags (F,H,W) uint8 (motion.VALID | INSIDE | VISIBLE), when `RenderOptions.flow`
    flow_forward: np.ndarray | None = None
    flow_backward: np.ndarray | None = None
    flow_forward_flags: np.ndarray | None = None
    flow_backward_flags: np.ndarray | None = None
    # (F,H,W,3) float32 in [0,1]: object pixels' points in their mesh's normalized bounding box
    # (`motion`), 0 elsewhere, when `RenderOptions.object_coordinates`
    object_coordinates: np.ndarray | None = None
    part_to_camera: np.ndarray | None = None  # (F,P,4,4) float64 part -> camera (part 0 ground)
    part_bounds: np.ndarray | None = None  # (P,2,3) float64 part mesh vertex min, max
    objects: ObjectsMeta | None = None  # per-object annotations, when `RenderOptions.objects`
    physics: PhysicsMeta | None = None  # the simulation's record (`spec.physics`): NNNN.json's
    references: ObjectReferences | None = None  # when `RenderOptions.references`


def render_video(spec: VideoSpec, device: torch.device | str = "cpu", frames_per_chunk: int = 4,
                 max_candidates: int = 4_000_000, options: RenderOptions = RenderOptions()
                 ) -> RenderedVideo:
    """Render every frame of `spec`. Output bytes do not depend on chunk sizes or thread count.

    With a shutter (`spec.camera.shutter`) the colour of each frame is the mean radiance of
    `options.motion_blur_samples` instants while it is open; with an aperture
    (`spec.camera.f_number`) it is blurred by depth (`depth_of_field`). Depth, segmentation
    and normals always come from the frame's own instant, sharp, and so do the flow and object
    coordinates (`motion`), computed from them once every frame is drawn.
    """
    device = torch.device(device)
    shape = (spec.num_frames, spec.height, spec.width)
    # Allocated by torch, not numpy: numpy asks for transparent huge pages (madvise), and where
    # the kernel then compacts memory on first touch that costs ~4x (1.5 vs 0.35 ms per frame).
    color = torch.empty((*shape, 3), dtype=torch.uint8).numpy()
    depth = torch.empty(shape, dtype=torch.float32).numpy()
    segmentation = torch.zeros(shape, dtype=torch.int32).numpy() if options.ids else None
    normals = torch.zeros((*shape, 3), dtype=torch.float32).numpy() if options.normals else None
    keep_freed_memory()
    backend = backends.choose(device, options.native, options.compile)
    blur = options.motion_blur_samples if spec.camera.shutter > 0 else 1
    with torch.inference_mode():
        lighting = video_lighting(spec, options.asset_root)
        scene = build_scene(spec, device, options.asset_root, lighting.sun_direction,
                            max_triangles=options.max_triangles,
                            max_texture_size=options.max_texture_size)
        frames = _Pass(spec, scene, lighting, options, backend, frames_per_chunk, max_candidates,
                       device)
        sub_frames = frames if blur == 1 else _Pass(
            spec, build_scene(spec, device, options.asset_root, lighting.sun_direction,
                              kinematics.shutter_times(spec, blur), options.max_triangles,
                              options.max_texture_size),
            lighting, options, backend, frames_per_chunk, max_candidates, device)
        lens = depth_of_field.Lens.create(spec, scene.intrinsics, device) \
            if spec.camera.f_number > 0 else None
        total = None
        # With a shutter the colour comes from the sub-frames below: this pass only draws depth,
        # segmentation and normals (no shading).
        for frame, outputs, radiance in frames.run(color, depth, segmentation, normals,
                                                   colour=blur == 1):
            if blur == 1:
                _finish_colour(frame, radiance, outputs, frames.video, lens, backend)
        if blur > 1:
            for sub, outputs, radiance in sub_frames.run(color, None, None, None,
                                                         frames_of=blur):
                total = radiance if sub % blur == 0 else total + radiance  # a fixed order
                if sub % blur == blur - 1:
                    frame = sub // blur
                    mean = total * (1.0 / blur)
                    _finish_colour(frame, mean, _FrameOutputs(
                        torch.from_numpy(color[frame]), torch.from_numpy(depth[frame]), None,
                        None), frames.video, lens, backend)
        flow = tuple(torch.zeros(s, dtype=t).numpy() for s, t in (
            ((*shape, 2), torch.float32), (shape, torch.uint8)) * 2) if options.flow else None
        coordinates = torch.zeros((*shape, 3), dtype=torch.float32).numpy() \
            if options.object_coordinates else None
        if flow is not None or coordinates is not None:
            motion.video_motion(backend, spec, scene.part_to_camera, scene.part_bounds,
                                scene.extrinsics, scene.intrinsics,
                                frames.rays if device.type == "cpu" else
                                pixel_rays(frames.intr, spec.width, spec.height, "cpu"),
                                depth, segmentation, flow, coordinates)
        # One frame per object: never compiled (each would be a new trace, its one frame a
        # specialized size: minutes of compiling per process for ~0.1 s of rendering). The
        # native or eager kernels give the same bits.
        alone = _render_references(spec, scene, lighting, options,
                                   backends.choose(device, options.native), max_candidates,
                                   device) if options.references else None
    flow = flow or (None,) * 4
    ids = None if segmentation is None else segmentation.astype(np.uint16)
    objects = object_annotations(spec, ids, scene.intrinsics, scene.extrinsics,
                                 options.asset_root, max_triangles=options.max_triangles
                                 ) if options.objects else None
    return RenderedVideo(color=color, depth=depth, intrinsics=scene.intrinsics,
                         extrinsics=scene.extrinsics,
                         segmentation=ids, normals=normals, objects=objects,
                         flow_forward=flow[0], flow_forward_flags=flow[1],
                         flow_backward=flow[2], flow_backward_flags=flow[3],
                         object_coordinates=coordinates, part_to_camera=scene.part_to_camera,
                         part_bounds=scene.part_bounds,
                         physics=None if spec.physics is None else
                         simulated_motion(spec, options.asset_root,
                                          options.max_triangles).meta(spec.num_frames),
                         references=alone)


def _render_references(spec, scene, lighting, options, backend, max_candidates, device
                       ) -> ObjectReferences:
    """Each object's faces alone in its planned frame (`dataset.vace.tasks.reference_frames`),
    in that frame's camera, pose and light, before a white backdrop, centred on white
    (`references`). Anti-aliasing, shadows and occlusion as the video's; no blur or lens."""
    frames = reference_frames(spec, references.in_view(scene, spec.width, spec.height,
                                                       spec.camera.near))
    shape = (1, spec.height, spec.width)
    images = np.full((max(len(frames), 1), *shape[1:], 3), references.WHITE, np.uint8)
    boxes: list = [None] * len(frames)
    for slot, frame in enumerate(frames):
        if frame is None:
            continue
        one = _Pass(spec, references.alone(scene, slot + 1, frame), lighting, options, backend,
                    1, max_candidates, device)
        white = _code_radiance(one.video.response)[references.WHITE]
        one.video = dataclasses.replace(one.video, backdrop=white.expand(
            3, spec.height * spec.width).contiguous())
        color = torch.empty((*shape, 3), dtype=torch.uint8).numpy()
        ids = torch.zeros(shape, dtype=torch.int32).numpy()
        for f, outputs, radiance in one.run(color, torch.empty(shape).numpy(), ids, None):
            _finish_colour(f, radiance, outputs, one.video, None, backend)
        images[slot], boxes[slot] = references.centred(color[0], ids[0], slot + 2)
    return ObjectReferences(images, frames, boxes)


def _finish_colour(frame, radiance, outputs, video, lens, backend: Backend) -> None:
    """Depth of field (if any), then the camera response into the frame's colour."""
    if lens is not None:
        radiance = lens.blur(radiance, outputs.depth.view(-1).to(radiance.device))
    backend.encode_response(radiance, video.response, outputs.rgb)


class _Pass:
    """Rasterize and shade every frame of a scene (the frames, or the sub-frames of a shutter),
    chunk by chunk, yielding each frame's linear radiance (3, H*W)."""

    def __init__(self, spec, scene, lighting, options, backend: Backend, frames_per_chunk,
                 max_candidates, device) -> None:
        self.spec, self.scene, self.options, self.backend = spec, scene, options, backend
        self.frames_per_chunk = chunk_frames(frames_per_chunk, scene.faces.shape[0])
        self.max_candidates, self.device = max_candidates, device
        k = scene.intrinsics
        self.intr = Intrinsics(fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]),
                               cy=float(k[1, 2]))
        self.rays = pixel_rays(self.intr, spec.width, spec.height, device)
        self.video = _VideoShading.create(spec, scene, lighting, options.asset_root, device,
                                          backend, self.intr)
        self.occlusion = occlusion_parameters(self.intr, spec.width, spec.height, device) \
            if options.ambient_occlusion else None
        self.shadow = ShadowCaster.create(spec, scene, device, lighting.sun_direction,
                                          lighting.sun_radius_deg) if options.shadows else None

    def run(self, color, depth, segmentation, normals, frames_of: int = 1, colour: bool = True):
        """Yield (frame, outputs, radiance) for every frame of the scene; outputs are views of
        the given arrays (at frame // frames_of; None arrays give scratch buffers). Without
        `colour` only depth, segmentation and normals are drawn (radiance is None)."""
        spec, scene, backend = self.spec, self.scene, self.backend
        count = scene.extrinsics.shape[0]
        hw = spec.height * spec.width
        scratch_depth = torch.empty((spec.height, spec.width), dtype=torch.float32)
        for start in range(0, count, self.frames_per_chunk):
            stop = min(count, start + self.frames_per_chunk)
            tris, vertex_normals = camera_space(scene, start, stop, backend)
            keys = backend.fill_zbuffer(tris, self.intr, spec.width, spec.height,
                                        spec.camera.near, self.max_candidates)
            planes = backend.torch(surface_planes)(tris, vertex_normals, scene.face_uv,
                                                   scene.face_info, scene.face_texture_size,
                                                   backend.transposed)
            maps = self.shadow.maps(tris, start, stop, spec.camera.near, self.max_candidates,
                                    backend) if self.shadow and colour else None
            fine = SilhouetteAntialiasing.create(tris, self.intr, spec, self.options.antialias,
                                                 backend) \
                if self.options.antialias > 1 and colour else None
            for f in range(stop - start):
                frame = start + f
                out = frame // frames_of
                frame_keys = keys[f].view(-1)
                outputs = _FrameOutputs(
                    torch.from_numpy(color[out]),
                    scratch_depth if depth is None else torch.from_numpy(depth[out]),
                    None if segmentation is None else torch.from_numpy(segmentation[out]),
                    None if normals is None else torch.from_numpy(normals[out]))
                work = outputs if self.device.type == "cpu" else outputs.on(self.device)
                if not colour:
                    surface_frame(frame_keys, planes[f], self.rays, scene.face_part, work,
                                  backend.transposed)
                    if work is not outputs:
                        outputs.copy_from(work)
                    yield frame, outputs, None
                    continue
                shading = self.video.frame(
                    frame, planes[f], self.shadow.lookup(maps[f], frame) if self.shadow else None,
                    None if self.occlusion is None else
                    (backend.inverse_depth(frame_keys), self.occlusion))
                radiance = torch.empty((3, hw), dtype=torch.float32, device=self.device)
                backend.shade_frame(frame_keys, shading, self.rays, work, radiance)
                if fine is not None:
                    fine.resolve(f, frame_keys, shading, scene, radiance)
                if work is not outputs:
                    outputs.copy_from(work)
                yield frame, outputs, radiance


def camera_space(scene: Scene, start: int, stop: int, backend: Backend = backends.EAGER
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertex positions and normals of every face (Fc,T,3,3) of frames [start, stop) in camera
    space, without BLAS. Both are views of planar (vertex, xyz, Fc, T) tensors, the layout the
    rasterizer and `surface_planes` work in."""
    return backend.torch(_camera_space)(scene.model_view[start:stop], scene.vertex_part,
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
class _VideoShading:
    """What every frame's shading shares: materials, the environment, the camera response and
    the backdrop image's radiance (or None: the environment is the backdrop)."""

    spec: VideoSpec
    scene: Scene
    lighting: VideoLighting
    textures: Textures
    lookup: env_light.EnvironmentLookup
    brdf: torch.Tensor
    response: tuple[torch.Tensor, torch.Tensor]
    backdrop: torch.Tensor | None
    backend: Backend
    intr: Intrinsics
    backdrop_scale: float  # the backdrop cube's level-0 side / (2 fx)
    projected: bool  # the ground shows the environment map (`scene.has_projected_ground`)

    @classmethod
    def create(cls, spec: VideoSpec, scene: Scene, lighting: VideoLighting, asset_root,
               device, backend: Backend, intr: Intrinsics) -> _VideoShading:
        cube = None
        if lighting.map_path is not None:
            from lightpipe.assets.environments import load_environment_image

            width = load_environment_image(lighting.map_path).shape[1]
            cube = env_light.backdrop_from_file(lighting.map_path,
                                                env_light.backdrop_side(intr.fx, width))
        lookup = env_light.EnvironmentLookup.create(lighting.environment, device, cube)
        response = camera_response.response_table(lighting.exposure, device)
        backdrop = None
        if spec.background.image_id:  # shown as it is: the radiance whose code is the pixel's
            image = load_backdrop(asset_root, spec.background.image_id, spec.width, spec.height)
            codes = torch.from_numpy(np.array(image)).to(device).view(-1, 3).t().long()
            backdrop = _code_radiance(response).index_select(0, codes.reshape(-1)).view(3, -1)
        side = float(lookup.backdrop_sizes[0])
        return cls(spec, scene, lighting, scene.textures, lookup, environment_brdf_table(device),
                   response, backdrop, backend, intr, side / (2.0 * intr.fx),
                   has_projected_ground(spec))

    def frame(self, frame: int, planes: torch.Tensor, shadow, occlusion) -> _FrameShading:
        device = planes.device
        extrinsics = self.scene.extrinsics[frame]
        capture = (0.0, 0.0, 0.0)
        if self.projected:  # the capture point (0, h, 0) in camera space
            h = self.spec.ground.capture_height
            capture = tuple(float(extrinsics[i, 1] * h + extrinsics[i, 3]) for i in range(3))
        env = env_light.frame_parameters(
            self.lighting.environment, self.lighting.camera_to_env(extrinsics), device, capture,
            self.backdrop_scale)
        light = frame_light([float(x) for x in self.scene.light_dir[frame]],
                            self.lighting.sun_irradiance, self.lighting.ambient_scale,
                            self.lookup.levels, self.intr, device)
        return _FrameShading(planes, self, light, env, shadow, occlusion)


@dataclass(frozen=True)
class _FrameShading:
    """One frame's shading inputs: its `surface_planes` (transposed per `backend.transposed`), the
    sun and environment parameters of the frame, the shadow lookup and the occlusion inputs (the
    frame's inverse depth and `occlusion_parameters`), each or None."""

    planes: torch.Tensor
    video: _VideoShading
    light: torch.Tensor
    env: torch.Tensor
    shadow: tuple[torch.Tensor, torch.Tensor] | None
    occlusion: tuple[torch.Tensor, torch.Tensor] | None

    @functools.cached_property
    def native(self) -> native.FrameKernels:
        """The frame's inputs for the native kernels."""
        v = self.video
        return native.FrameKernels(self.planes, v.textures, self.light, v.lookup, self.env,
                                   v.brdf, self.shadow, self.occlusion, v.backdrop,
                                   v.scene.face_part, _OCCLUSION_KERNEL, look.kernel_values(),
                                   v.projected)

    def faces(self, face, rays, want_normals: bool = False):
        """`shading.shade_faces` of these pixels."""
        v = self.video
        return v.backend.torch(shade_faces)(self.planes, face, rays, v.textures, self.light,
                                            v.lookup, self.env, v.brdf, self.shadow,
                                            self.occlusion, want_normals, v.backend.transposed,
                                            v.projected)

    def covered(self, keys, pixel, rays, want_normals: bool = False):
        """`shading.shade_covered` of these covered pixels of the frame's z-buffer `keys`."""
        v = self.video
        return v.backend.torch(shade_covered)(keys, pixel, self.planes, rays, v.textures,
                                              self.light, v.lookup, self.env, v.brdf,
                                              self.shadow, self.occlusion, want_normals,
                                              v.backend.transposed, v.projected)

    def backdrop(self, pixel, rays) -> torch.Tensor:
        """(3, N) radiance behind the scene at these pixels: the backdrop image, or the
        environment seen along their rays."""
        v = self.video
        if v.backdrop is not None:
            return take_columns(v.backdrop, pixel)
        ray = take_columns(rays, pixel)
        return v.backend.torch(_environment_backdrop)(v.lookup, self.env, ray)

    def backdrop_along(self, samples, edge, which) -> torch.Tensor:
        """(3, N) backdrop radiance of anti-aliasing samples that miss every face: the
        environment along each sample ray (3, N), or the backdrop image at pixel
        `edge[which]`."""
        v = self.video
        if v.backdrop is not None:
            return take_columns(v.backdrop, edge.index_select(0, which))
        return v.backend.torch(_environment_backdrop)(v.lookup, self.env, samples)


def _environment_backdrop(lookup, env, ray) -> torch.Tensor:
    return torch.stack(env_light.backdrop_radiance(lookup, env, ray[0], ray[1],
                                                   torch.ones_like(ray[0]), 1.0))


def _code_radiance(response: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """(256,) a radiance that `camera_response.encode` maps to each code (the middle of its
    interval; twice the last threshold for 255, 0 for 0)."""
    ends = response[0]
    lower = torch.cat([ends.new_zeros(1), ends[:-1]])
    upper = torch.cat([ends[:-1], ends[-2:-1] * 3.0])
    return (lower + upper) * 0.5


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

