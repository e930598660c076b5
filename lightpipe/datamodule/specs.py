"""Frozen video specs: everything needed to render one video, and nothing else."""

from __future__ import annotations

import dataclasses
import enum
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

Vec3 = tuple[float, float, float]


class Trajectory(str, enum.Enum):
    """Camera paths."""

    ORBIT = "orbit"
    DOLLY = "dolly"
    PAN = "pan"  # pan and tilt: the view turns, the camera stays
    CRANE = "crane"  # the camera rises or sinks, looking at the target
    STATIC = "static"


class Motion(str, enum.Enum):
    """Object motions."""

    STATIC = "static"
    LINEAR = "linear"
    ORBIT = "orbit"
    BOUNCE = "bounce"


class SpecBase:
    """`to_dict`/`from_dict` for nested frozen dataclasses; `from_dict` rejects unknown keys."""

    _hints: ClassVar[dict[type, dict[str, Any]]] = {}

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown keys {unknown}; allowed: {names}")
        missing = sorted(set(names) - set(data))
        if missing:
            raise ValueError(f"{cls.__name__}: missing keys {missing}")
        hints = SpecBase._hints.setdefault(cls, typing.get_type_hints(cls))
        return cls(**{name: _from_plain(hints[name], data[name]) for name in names})


@dataclass(frozen=True)
class CameraSpec(SpecBase):
    """A camera looking at `target` from `distance`/`height`/`azimuth`; `trajectory` moves it."""

    trajectory: Trajectory
    fov_y_deg: float
    target: Vec3
    distance: float
    height: float
    azimuth_deg: float
    # Speeds per second of video; only the chosen trajectory's speed is non-zero.
    orbit_speed_deg_s: float
    dolly_speed: float
    pan_speed_deg_s: tuple[float, float]  # yaw (pan), pitch (tilt)
    crane_speed: float
    # Handheld shake on top of the trajectory: yaw/pitch/roll sinusoids (0 amplitude = none).
    shake_amplitude_deg: float
    shake_hz: Vec3
    shake_phase: Vec3
    near: float
    far: float


@dataclass(frozen=True)
class ObjectSpec(SpecBase):
    """One object: asset, material, size, start pose and motion."""

    asset_id: str
    material_id: str
    scale: float
    position: Vec3
    rotation_deg: Vec3
    spin_deg_s: Vec3
    motion: Motion
    velocity: Vec3
    bounce_height: float
    bounce_hz: float
    orbit_speed_deg_s: float
    tint: Vec3


@dataclass(frozen=True)
class LightSpec(SpecBase):
    """A directional key light plus ambient light; direction points from the scene to the light."""

    azimuth_deg: float
    elevation_deg: float
    color: Vec3
    intensity: float
    ambient: float
    specular: float
    shininess: int


@dataclass(frozen=True)
class BackgroundSpec(SpecBase):
    """A backdrop image (`image_id`), or when it is empty a vertical sky gradient."""

    image_id: str
    top_color: Vec3
    bottom_color: Vec3


@dataclass(frozen=True)
class GroundSpec(SpecBase):
    """A textured ground plane at y=0."""

    material_id: str
    half_size: float
    uv_scale: float
    tint: Vec3


@dataclass(frozen=True)
class VideoSpec(SpecBase):
    """A complete description of one video: rendering it needs nothing else."""

    index: int
    split: str
    master_seed: int
    video_seed: int
    width: int
    height: int
    num_frames: int
    fps: int
    camera: CameraSpec
    objects: tuple[ObjectSpec, ...]
    light: LightSpec
    background: BackgroundSpec
    ground: GroundSpec

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """Every asset the video uses (objects and materials), sorted."""
        ids = {self.ground.material_id} | ({self.background.image_id} - {""})
        for obj in self.objects:
            ids.update((obj.asset_id, obj.material_id))
        return tuple(sorted(ids))


def _to_plain(value: Any) -> Any:
    if isinstance(value, SpecBase):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    return value


def _from_plain(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, SpecBase):
        return hint.from_dict(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_plain(args[0], v) for v in value)
        return tuple(_from_plain(a, v) for a, v in zip(args, value, strict=True))
    if hint is float:
        return float(value)
    return value
