"""Frozen video specs: everything needed to render one video, and nothing else."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from lightpipe.records import OMIT_IF_NONE, Record

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
    PHYSICS = "physics"  # simulated from `ObjectSpec.body` (`settings.scene.dynamics: physics`)


@dataclass(frozen=True)
class BodySpec(Record):
    """An object's rigid body (`dynamics: physics`): its physical properties and start state.

    A resting body (`thrown` false) is dropped at the object's (x, z) with its planned rotation
    and settles before the first frame; a thrown one starts the video at `launch_position`
    (its centre, metres) with `linear_velocity` (m/s) and `angular_velocity` (rad/s, world
    axes). The simulation may move a spawn point that overlaps another body (it decides with
    the engine's own distance query, from a stream seeded by the spec)."""

    family: str  # metal, rubber, wood, stone, fabric or plastic
    density: float  # kg/m^3
    friction: float
    restitution: float
    thrown: bool
    launch_position: Vec3
    linear_velocity: Vec3
    angular_velocity: Vec3
    # The body's total mass (kg) where `assets.yaml` declares it: `density` is then unused.
    mass: float | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True)
class PhysicsSpec(Record):
    """The simulation of one video: a fixed step, `substeps` of them per frame (exact), an
    unseen settling phase of at most `settle_seconds`, gravity along -y, the ground's material
    and the collision shapes' kind (`hull` or `decomposition`)."""

    step_hz: int
    substeps: int
    settle_seconds: float
    gravity: float
    collision: str
    ground_family: str
    ground_friction: float
    ground_restitution: float


@dataclass(frozen=True)
class CameraSpec(Record):
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
    exposure_bias_ev: float  # on top of the exposure metered from the light
    shutter: float  # open fraction of the frame interval; 0 = no motion blur
    f_number: float  # 0 = pinhole (no depth of field)


@dataclass(frozen=True)
class ObjectSpec(Record):
    """One object: asset, material, size (`scale`: its bounding-sphere radius in metres), start
    pose and motion. `category` is the label its asset's `assets.yaml` declares (None: none
    declared, the asset id's applies: `assets.categories.object_category`)."""

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
    roughness_scale: float  # times the material's roughness
    metal: float  # 1 = a metal object (the material's colour tints reflections), 0 = as mapped
    body: BodySpec | None = field(default=None, metadata=OMIT_IF_NONE)  # with physics
    category: str | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True)
class LightSpec(Record):
    """The sun of the procedural sky (azimuth and elevation: the direction towards it); with an
    HDR environment its brightest light is the sun instead. `color` and `intensity` scale it."""

    azimuth_deg: float
    elevation_deg: float
    color: Vec3
    intensity: float
    radius_deg: float  # angular radius: the softness of its shadows


@dataclass(frozen=True)
class EnvironmentSpec(Record):
    """The light around the scene: an HDR map (`image_id`, turned by `rotation_deg` about the
    vertical) or, when `image_id` is empty, the Preetham sky of the sun with `turbidity`."""

    image_id: str
    rotation_deg: float
    turbidity: float
    intensity: float  # times the environment's light


@dataclass(frozen=True)
class BackgroundSpec(Record):
    """A flat backdrop image (`image_id`) behind the scene, or when it is empty the environment."""

    image_id: str


@dataclass(frozen=True)
class GroundSpec(Record):
    """The ground plane at y=0: textured with `material_id`, or, when `capture_height` is set,
    showing the environment map's lower hemisphere projected from a point that many metres
    above the origin (Kubric's HDRI dome: objects stand in the photographed place). The
    material still gives the physics its friction and restitution."""

    material_id: str
    half_size: float
    uv_scale: float
    tint: Vec3
    roughness_scale: float
    # Metres: the height the map was photographed from (None: the material ground).
    capture_height: float | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True)
class VideoSpec(Record):
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
    environment: EnvironmentSpec
    background: BackgroundSpec
    ground: GroundSpec
    physics: PhysicsSpec | None = field(default=None, metadata=OMIT_IF_NONE)  # None: kinematic

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """Every asset the video uses (objects and materials), sorted."""
        ids = {self.ground.material_id} | ({self.background.image_id,
                                            self.environment.image_id} - {""})
        for obj in self.objects:
            ids.update((obj.asset_id, obj.material_id))
        return tuple(sorted(ids))
