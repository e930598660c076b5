"""Soft shadows of the sun: a variance shadow map rendered from the light, looked up per pixel.

The light is directional; its "camera" sits far along the light direction (almost
orthographic) and frames every object over the whole video. Objects cast shadows; the ground
only receives them (so it never shadows itself). The map holds the casters' depth and squared
depth, box-blurred over the penumbra the sun's angular size gives at a typical occluder
distance; the lookup (`shading.sun_visibility`) is a bilinear sample and Chebyshev's bound.
The blur is explicit shifted additions in a fixed order (no cumulative sums, no reductions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from lightpipe.planning.specs import VideoSpec
from lightpipe.render import kinematics, look
from lightpipe.render.zbuffer import Intrinsics, key_inverse_depth

if TYPE_CHECKING:
    from lightpipe.render.backend import Backend

MAX_MAP_SIZE = 512
LIGHT_DISTANCE = 60.0
OCCLUDER_DISTANCE = 0.6  # metres from a caster to its shadow, typically: sets the blur
MAX_BLUR_TEXELS = 6
FAR_DEPTH = 1000.0  # metres past the near plane: the depth stored where no caster is


@dataclass(frozen=True)
class LightCamera:
    """World -> light camera (4x4) and its intrinsics; None when there is nothing to cast."""

    world_to_light: np.ndarray
    intrinsics: Intrinsics
    size: int  # the map is size x size texels
    near_depth: float  # light-space depth of the nearest possible caster (moments offset)
    far_depth: float  # depth stored where no caster is (beyond every receiver)
    blur: int  # box radius in texels


def light_camera(spec: VideoSpec, towards, radius_deg: float, part_world: np.ndarray
                 ) -> LightCamera | None:
    """A camera along the light direction `towards` that sees every object at every instant
    of `part_world` ((T,P,4,4) part -> world, part 0 the ground: `Scene.part_world`).

    The map has about as many texels per side as the video (a power of two, at most 512).
    """
    if not spec.objects:
        return None
    size = min(MAX_MAP_SIZE, 1 << max(5, (max(spec.width, spec.height) - 1).bit_length()))
    centres = np.concatenate([part_world[:, 1 + k, :3, 3] for k in range(len(spec.objects))])
    # Twice the radius: a user mesh's origin is its box centre, within one radius of any point.
    radii = np.repeat([2.0 * obj.scale for obj in spec.objects], part_world.shape[0])
    centre = (centres.min(axis=0) + centres.max(axis=0)) / 2.0
    reach = float(max(math.sqrt(float(((c - centre) ** 2).sum())) + r
                      for c, r in zip(centres, radii))) + 0.25
    towards = tuple(float(t) for t in towards)
    distance = max(LIGHT_DISTANCE, 4.0 * reach)
    position = [c + distance * d for c, d in zip(centre, towards)]
    forward = [-d for d in towards]
    up = (0.0, 0.0, 1.0) if abs(forward[1]) > 0.99 else kinematics.WORLD_UP
    right = kinematics.normalize(kinematics.cross(forward, up))
    pose = kinematics.pose_from_axes(right, kinematics.cross(forward, right), forward, position)
    focal = (size / 2.0) * (distance - reach) / reach
    texel = 2.0 * reach / size  # metres per texel at the scene
    penumbra = 2.0 * OCCLUDER_DISTANCE * math.tan(math.radians(radius_deg))
    blur = max(1, min(MAX_BLUR_TEXELS, int(round(0.5 * penumbra / texel))))
    return LightCamera(pose, Intrinsics(focal, focal, size / 2.0, size / 2.0), size,
                       distance - reach - 1.0, FAR_DEPTH, blur)


def camera_to_light(light: LightCamera, extrinsics: np.ndarray) -> np.ndarray:
    """(F, 3, 4) float64 per frame: camera space -> light camera space (explicit sums)."""
    out = []
    for pose in extrinsics:
        inverse = np.eye(4)
        rotation = pose[:3, :3]
        inverse[:3, :3] = rotation.T
        inverse[:3, 3] = [-(rotation[0, i] * pose[0, 3] + rotation[1, i] * pose[1, 3]
                            + rotation[2, i] * pose[2, 3]) for i in range(3)]
        out.append(kinematics.compose(light.world_to_light, inverse)[:3])
    return np.stack(out)


def shadow_moments(tris: torch.Tensor, casters: torch.Tensor, to_light: torch.Tensor,
                   light: LightCamera, near: float, max_candidates: int, backend: Backend
                   ) -> torch.Tensor:
    """(Fc, 2, S*S) float32 blurred mean and mean square of the nearest caster's light-space
    depth minus `light.near_depth` (`light.far_depth` where no caster is).

    Args:
        tris: camera-space triangles (Fc, T, 3, 3); casters: indices of casting faces.
        to_light: (Fc, 3, 4) camera -> light transforms of these frames.
    """
    # At most ~16 MiB of z-buffer per pass: below glibc's mmap threshold (`allocator`), so
    # its pages are reused rather than faulted in again for every chunk.
    group = max(1, (2 << 20) // (light.size * light.size))
    # Tensors, not Python floats: a compiled kernel could compute with those in double.
    depths = torch.tensor([light.near_depth, light.far_depth], dtype=torch.float32,
                          device=tris.device)
    maps = []
    for start in range(0, tris.shape[0], group):
        light_tris = backend.torch(_light_space)(tris[start:start + group], casters,
                                                 to_light[start:start + group])
        keys = backend.fill_zbuffer(light_tris, light.intrinsics, light.size, light.size, near,
                                    max_candidates)
        maps.append(backend.shadow_moments(keys, depths, light.blur))
    return torch.cat(maps).view(tris.shape[0], 2, -1)


def offset_depth(keys: torch.Tensor, depths: torch.Tensor) -> torch.Tensor:
    """Light-space depth minus depths[0] where a caster is, else depths[1]."""
    inverse = key_inverse_depth(keys)
    return torch.where(inverse > 0, torch.reciprocal(inverse.clamp(min=1e-30)) - depths[0],
                       depths[1])


def blurred_moments(depth: torch.Tensor, radius: int) -> torch.Tensor:
    """(Fc, 2, S, S): box means of depth and depth^2 over (2 radius + 1)^2 texels (edges
    clamped), as shifted additions in a fixed order."""
    moments = torch.stack([depth, depth * depth], dim=1)
    for dim in (2, 3):
        size = moments.shape[dim]
        padded = torch.cat([moments.narrow(dim, 0, 1).expand_as(moments.narrow(dim, 0, radius)),
                            moments,
                            moments.narrow(dim, size - 1, 1).expand_as(
                                moments.narrow(dim, 0, radius))], dim=dim)
        total = padded.narrow(dim, 0, size)
        for shift in range(1, 2 * radius + 1):
            total = total + padded.narrow(dim, shift, size)
        moments = total * (1.0 / (2 * radius + 1))
    return moments


def _light_space(tris: torch.Tensor, casters: torch.Tensor, to_light: torch.Tensor):
    """Casting faces of camera-space `tris` (Fc, T, 3, 3) in light space (Fc, C, 3, 3)."""
    caster_tris = tris[:, casters]
    m = to_light.view(-1, 1, 1, 3, 4)
    x, y, z = caster_tris[..., 0], caster_tris[..., 1], caster_tris[..., 2]
    return torch.stack([((m[..., i, 0] * x + m[..., i, 1] * y) + m[..., i, 2] * z)
                        + m[..., i, 3] for i in range(3)], dim=-1)


class ShadowCaster:
    """The light camera and per-frame camera->light transforms of one video."""

    def __init__(self, light, to_light: np.ndarray, casters: torch.Tensor) -> None:
        self.light, self.to_light, self.casters = light, to_light, casters

    @classmethod
    def create(cls, spec: VideoSpec, scene, device, towards, radius_deg: float
               ) -> ShadowCaster | None:
        light = light_camera(spec, towards, radius_deg, scene.part_world)
        if light is None:
            return None
        casters = torch.nonzero(scene.face_part > 0).view(-1)
        return cls(light, camera_to_light(light, scene.extrinsics), casters)

    def maps(self, tris, start, stop, near, max_candidates, backend: Backend) -> torch.Tensor:
        to_light = torch.tensor(self.to_light[start:stop], dtype=torch.float32,
                                device=tris.device)
        return shadow_moments(tris, self.casters, to_light, self.light, near, max_candidates,
                              backend)

    def lookup(self, moments: torch.Tensor, frame: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`(moments, parameters)` of one frame for `shading.sun_visibility`."""
        intr = self.light.intrinsics
        params = [0.0] * look.SHADOW_PARAMS
        params[look.SHADOW_TO_LIGHT:look.SHADOW_TO_LIGHT + 12] = \
            self.to_light[frame].astype(np.float32).reshape(-1).tolist()
        params[look.SHADOW_INTRINSICS:look.SHADOW_INTRINSICS + 4] = [intr.fx, intr.fy, intr.cx,
                                                                     intr.cy]
        params[look.SHADOW_MAP_SIZE] = float(self.light.size)
        params[look.SHADOW_DEPTH_OFFSET] = self.light.near_depth
        return moments, torch.tensor(params, dtype=torch.float32, device=moments.device)
