"""Shadows of the key light: a depth map rendered from the light, looked up per visible pixel.

The light is directional; its "camera" sits far along the light direction (almost
orthographic) and frames every object over the whole video. Objects cast shadows; the ground
only receives them (so it never shadows itself). The lookup (`shading.lit`) is one gather and
a compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lightpipe.planning.specs import VideoSpec
from lightpipe.render import kinematics
from lightpipe.render.kernels import EAGER, Kernels
from lightpipe.render.rasterizer import Intrinsics, key_inverse_depth, rasterize

MAX_MAP_SIZE = 1024
LIGHT_DISTANCE = 60.0


@dataclass(frozen=True)
class LightCamera:
    """World -> light camera (4x4) and its intrinsics; None when there is nothing to cast."""

    world_to_light: np.ndarray
    intrinsics: Intrinsics
    size: int  # the map is size x size texels


def light_camera(spec: VideoSpec) -> LightCamera | None:
    """A camera along the light direction that sees every object in every frame.

    The map has about as many texels per side as the video (a power of two, at most 1024).
    """
    if not spec.objects:
        return None
    size = min(MAX_MAP_SIZE, 1 << max(5, (max(spec.width, spec.height) - 1).bit_length()))
    centres = np.concatenate([kinematics.object_poses(obj, spec)[:, :3, 3] for obj in spec.objects])
    # Twice the radius: scene.py lowers each object by up to its radius to rest on the ground.
    radii = np.repeat([2.0 * obj.scale for obj in spec.objects], spec.num_frames)
    centre = (centres.min(axis=0) + centres.max(axis=0)) / 2.0
    reach = float(max(math.sqrt(float(((c - centre) ** 2).sum())) + r
                      for c, r in zip(centres, radii))) + 0.25
    towards = kinematics.light_direction(spec)
    distance = max(LIGHT_DISTANCE, 4.0 * reach)
    position = [c + distance * d for c, d in zip(centre, towards)]
    forward = [-d for d in towards]
    up = (0.0, 0.0, 1.0) if abs(forward[1]) > 0.99 else kinematics.WORLD_UP
    right = kinematics.normalize(kinematics.cross(forward, up))
    pose = kinematics.pose_from_axes(right, kinematics.cross(forward, right), forward, position)
    focal = (size / 2.0) * (distance - reach) / reach
    return LightCamera(pose, Intrinsics(focal, focal, size / 2.0, size / 2.0), size)


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


def shadow_maps(tris: torch.Tensor, casters: torch.Tensor, to_light: torch.Tensor,
                light: LightCamera, near: float, max_candidates: int,
                kernels: Kernels = EAGER) -> torch.Tensor:
    """(Fc, S*S) float32 1/depth of the nearest caster seen from the light (0: none).

    Args:
        tris: camera-space triangles (Fc, T, 3, 3); casters: indices of casting faces.
        to_light: (Fc, 3, 4) camera -> light transforms of these frames.
    """
    # At most ~16 MiB of z-buffer per pass: below glibc's mmap threshold (`allocator`), so
    # its pages are reused rather than faulted in again for every chunk.
    group = max(1, (2 << 20) // (light.size * light.size))
    maps = []
    for start in range(0, tris.shape[0], group):
        light_tris = kernels(_light_space)(tris[start:start + group], casters,
                                           to_light[start:start + group])
        keys = rasterize(light_tris, light.intrinsics, light.size, light.size, near,
                         max_candidates, kernels)
        maps.append(kernels(key_inverse_depth)(keys.view(keys.shape[0], -1)))
    return torch.cat(maps)


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
    def create(cls, spec: VideoSpec, scene, device) -> ShadowCaster | None:
        light = light_camera(spec)
        if light is None:
            return None
        casters = torch.nonzero(scene.face_part > 0).view(-1)
        return cls(light, camera_to_light(light, scene.extrinsics), casters)

    def maps(self, tris, start, stop, near, max_candidates, kernels: Kernels = EAGER
             ) -> torch.Tensor:
        to_light = torch.tensor(self.to_light[start:stop], dtype=torch.float32,
                                device=tris.device)
        return shadow_maps(tris, self.casters, to_light, self.light, near, max_candidates,
                           kernels)

    def lookup(self, shadow_map: torch.Tensor, frame: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`(shadow map, parameters)` of one frame for `shading.lit`."""
        intr = self.light.intrinsics
        params = [*self.to_light[frame].astype(np.float32).reshape(-1).tolist(),
                  intr.fx, intr.fy, intr.cx, intr.cy, float(self.light.size)]
        return shadow_map, torch.tensor(params, dtype=torch.float32, device=shadow_map.device)
