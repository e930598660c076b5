"""A video's light, from its spec: the environment (HDR map or Preetham sky), the sun that casts
shadows, and the exposure metered from them. Built once per video; no randomness of its own."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lightpipe.assets.catalog import user_path
from lightpipe.planning.specs import VideoSpec
from lightpipe.render import camera_response
from lightpipe.render.environment import (
    Environment,
    environment_from_file,
    irradiance_from_sh,
    luminance,
    preetham_sky,
)


@dataclass(frozen=True)
class VideoLighting:
    """The environment (in its own axes) and how it sits in the world, the sun, the exposure."""

    environment: Environment
    env_to_world: np.ndarray  # (3, 3) rotation about the vertical
    sun_direction: tuple[float, float, float]  # world, unit, towards the sun
    sun_irradiance: tuple[float, float, float]  # rgb on a surface facing the sun
    sun_radius_deg: float
    ambient_scale: float  # times the environment's light
    exposure: float
    map_path: str | None = None  # the HDR map's file, None for the procedural sky

    def camera_to_env(self, extrinsics: np.ndarray) -> np.ndarray:
        """(3, 3) camera -> environment rotation of a world -> camera pose (4x4): R_env^T R^T."""
        rotation = extrinsics[:3, :3]
        return np.array([[sum(self.env_to_world[k, i] * rotation[j, k] for k in range(3))
                          for j in range(3)] for i in range(3)])


def video_lighting(spec: VideoSpec, asset_root: str | None) -> VideoLighting:
    environment_spec, light = spec.environment, spec.light
    map_path = None
    if environment_spec.image_id:
        map_path = str(user_path(asset_root, environment_spec.image_id))
        environment = environment_from_file(map_path)
        angle = math.radians(environment_spec.rotation_deg)
        c, s = math.cos(angle), math.sin(angle)
        env_to_world = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        d = environment.sun_direction
        sun_direction = tuple(float(sum(env_to_world[i, k] * d[k] for k in range(3)))
                              for i in range(3))
        radius = environment.sun_radius_deg
    else:
        az, el = math.radians(light.azimuth_deg), math.radians(light.elevation_deg)
        sun_direction = (math.cos(el) * math.cos(az), math.sin(el), math.cos(el) * math.sin(az))
        environment = preetham_sky(sun_direction, environment_spec.turbidity)
        env_to_world = np.eye(3)
        radius = light.radius_deg
    sun = tuple(float(e) * light.intensity * c for e, c in
                zip(environment.sun_irradiance, light.color))
    sky = irradiance_from_sh(environment.sh, np.array([0.0, 1.0, 0.0]))
    horizontal = luminance(sky) * environment_spec.intensity \
        + luminance(sun) * max(sun_direction[1], 0.0)
    exposure = camera_response.exposure_for(horizontal, spec.camera.exposure_bias_ev)
    return VideoLighting(environment, env_to_world, sun_direction, sun, radius,
                         environment_spec.intensity, exposure, map_path)
