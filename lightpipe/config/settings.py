"""Typed configuration: the `project` and `settings` groups of a Lightpipe config."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from lightpipe.records import Record

SPLITS = ("train", "val")
SplitRule = Literal["contiguous", "interleaved"]
DepthNormalization = Literal["per_video", "per_frame"]
X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
]


@dataclass(frozen=True)
class ProjectSettings(Record):
    """`project.*`: the master seed drives every random choice, Lightning's seed included."""

    seed: int = 42
    name: str = "lightpipe"


@dataclass(frozen=True)
class DatasetSplit(Record):
    """`settings.dataset_split.*`. `rule` (see `split_of`): `contiguous`, the first
    `round(num_videos * train_ratio)` indices are train; `interleaved`, val indices are spread
    evenly and an index's split never depends on `num_videos`, so a dataset can grow."""

    train_ratio: float = 0.8
    ensure_disjoint_assets: bool = True
    rule: SplitRule = "contiguous"


@dataclass(frozen=True)
class VideoSettings(Record):
    """`settings.video.*`: frame size and timing (Wan2.1/VACE defaults)."""

    width: int = 832
    height: int = 480
    num_frames: int = 81
    fps: int = 16


@dataclass(frozen=True)
class EncoderSettings(Record):
    """`settings.encoder.*`: H.264 settings; `threads` is pinned because x264's bytes depend on it."""

    preset: X264Preset = "veryfast"
    crf: int = 18
    threads: int = 2
    depth_normalization: DepthNormalization = "per_video"
    max_pending_videos: int = 2
    # A keyframe every N frames in every video file, so a reader seeks to a clip (format 2).
    keyframe_interval: int = 16


Range = tuple[float, float]
TrajectoryName = Literal["orbit", "dolly", "pan", "crane", "static"]
MotionName = Literal["static", "linear", "orbit", "bounce"]
Dynamics = Literal["physics", "kinematic"]
CollisionShape = Literal["hull", "decomposition"]
GroundKind = Literal["material", "environment"]
OutputName = str  # a name from the output registry (`lightpipe.dataset.outputs`)


@dataclass(frozen=True)
class SceneSettings(Record):
    """`settings.scene.*`: what the planner samples objects from (ranges are [low, high]).

    `dynamics`: `physics` (objects settle on the ground, some are thrown in; simulated, see
    `settings.physics`) or `kinematic` (scripted `motions`, for camera-only datasets).

    `ground`: `material` (a textured ground) or `environment`: then a video lit by an HDR map
    (not the procedural sky) and shown in front of it (no backdrop image) stands, with
    `environment_ground_probability`, on the map's lower hemisphere projected onto the ground
    from a camera `capture_height` metres up (Kubric's HDRI dome), else on a material."""

    dynamics: Dynamics = "physics"
    min_objects: int = 2
    max_objects: int = 5
    object_scale: Range = (0.4, 0.9)  # bounding-sphere radius, metres
    motions: tuple[MotionName, ...] = ("static", "linear", "orbit", "bounce")  # kinematic
    object_speed: Range = (0.1, 0.5)  # m/s for linear motion
    orbit_speed_deg_s: Range = (10.0, 40.0)
    spin_deg_s: Range = (-60.0, 60.0)  # about the vertical axis (kinematic)
    bounce_height: Range = (0.2, 0.8)  # kinematic hops, in free fall
    ground_uv_scale: Range = (0.1, 0.35)  # texture repeats per metre
    ground: GroundKind = "material"
    environment_ground_probability: float = 1.0  # with ground: environment, per map video
    capture_height: Range = (1.4, 1.8)  # metres: where the map was photographed from


@dataclass(frozen=True)
class PhysicalMaterial(Record):
    """One material family's physical properties, each drawn per object from [low, high]."""

    friction: Range = (0.4, 0.5)  # Coulomb coefficient, >= 0
    restitution: Range = (0.4, 0.5)  # bounciness in [0, 1]
    density: Range = (1000.0, 1000.0)  # kg/m^3, > 0: mass = density x the collision hull's volume


PHYSICAL_FAMILIES = ("metal", "rubber", "wood", "stone", "fabric", "plastic")


def _family(friction: Range, restitution: Range, density: Range):
    return field(default_factory=lambda: PhysicalMaterial(friction, restitution, density))


@dataclass(frozen=True)
class PhysicsSettings(Record):
    """`settings.physics.*`: the simulation of `scene.dynamics: physics` (MuJoCo, pinned).

    Every object first settles on the ground, or on another, in a phase the video does not
    show; `thrown_share` of them (at least `min_thrown`) are instead thrown or dropped into
    view at the first frame, aimed to land near the camera's target. A material family
    (metal, rubber, wood, stone, fabric, plastic: from the object's or the ground's material)
    gives friction, restitution and density."""

    step_hz: int = 960  # fixed simulation step; settings.video.fps must divide it
    settle_seconds: float = 4.0  # most unseen settling before the first frame
    thrown_share: float = 0.35  # each object is thrown with this probability ...
    min_thrown: int = 1  # ... and at least this many are (when there are as many objects)
    launch_height: Range = (0.7, 1.6)  # metres above the ground of a thrown object's centre
    launch_distance: Range = (0.0, 1.8)  # metres from its landing point (0: dropped)
    flight_time: Range = (0.45, 0.8)  # seconds to its landing point
    landing_radius: float = 0.8  # metres: landing points lie this close to the camera target
    angular_speed: Range = (0.0, 8.0)  # rad/s of a thrown object, about a random axis
    collision: CollisionShape = "hull"  # convex hull, or a (cached) convex decomposition
    metal: PhysicalMaterial = _family((0.35, 0.45), (0.25, 0.35), (2500.0, 2900.0))
    rubber: PhysicalMaterial = _family((0.75, 0.9), (0.6, 0.75), (1000.0, 1200.0))
    wood: PhysicalMaterial = _family((0.45, 0.6), (0.35, 0.45), (500.0, 800.0))
    stone: PhysicalMaterial = _family((0.55, 0.7), (0.15, 0.25), (2200.0, 2700.0))
    fabric: PhysicalMaterial = _family((0.8, 1.0), (0.02, 0.1), (200.0, 400.0))
    plastic: PhysicalMaterial = _family((0.35, 0.5), (0.45, 0.6), (900.0, 1200.0))


@dataclass(frozen=True)
class CameraSettings(Record):
    """`settings.camera.*`: trajectories and their ranges; speeds are per second of video."""

    trajectories: tuple[TrajectoryName, ...] = ("orbit", "dolly", "pan", "crane", "static")
    fov_y_deg: Range = (40.0, 65.0)
    distance: Range = (3.0, 5.5)
    height: Range = (0.8, 2.5)
    orbit_speed_deg_s: Range = (5.0, 20.0)
    dolly_speed: Range = (0.2, 0.6)  # m/s, in or out
    pan_speed_deg_s: Range = (2.0, 6.0)
    tilt_speed_deg_s: Range = (0.0, 2.0)
    crane_speed: Range = (0.1, 0.4)  # m/s, up or down
    shake_probability: float = 0.3  # handheld shake on top of any trajectory
    shake_amplitude_deg: Range = (0.2, 1.0)
    exposure_bias_ev: Range = (-0.3, 0.3)  # on top of the exposure metered from the light
    motion_blur: bool = False  # the colour video only; depth and other truth stay sharp
    shutter: Range = (0.25, 0.5)  # open fraction of each frame interval, with motion_blur
    depth_of_field: bool = False  # the colour video only, focused on the camera target
    f_number: Range = (2.0, 5.6)  # with depth_of_field (a 36 mm-wide sensor is assumed)


@dataclass(frozen=True)
class LightingSettings(Record):
    """`settings.lighting.*`: the sky and sun (or an HDR environment and its brightest light)."""

    elevation_deg: Range = (25.0, 70.0)  # the sun of the procedural sky
    turbidity: Range = (2.0, 5.0)  # haze of the procedural sky (2 clear, 10 hazy)
    intensity: Range = (0.8, 1.2)  # the sun's (key light's) strength, times
    environment_intensity: Range = (0.8, 1.25)  # the sky's (environment's) light, times
    sun_radius_deg: Range = (0.3, 1.2)  # angular radius: the softness of shadows
    color_jitter: float = 0.1  # each channel of the sun in [1 - jitter, 1]


@dataclass(frozen=True)
class MaterialSettings(Record):
    """`settings.materials.*`: per-object variation on top of each material's own maps."""

    roughness_scale: Range = (0.7, 1.3)  # times the material's roughness
    metallic_probability: float = 0.15  # an object is metal (its colour tints the reflections)
    ground_roughness_scale: Range = (0.85, 1.15)


@dataclass(frozen=True)
class AssetSettings(Record):
    """`settings.assets.*`: built-in procedural assets and/or a directory of your own.

    `root` holds objects/ (OBJ, GLB/glTF, PLY, STL), textures/ and backgrounds/ (PNG, JPG), and
    environments/ (equirectangular .hdr or .exr).
    """

    root: str | None = None
    builtin: bool = True
    background_image_probability: float = 0.3  # a flat backdrop photo instead of the sky
    environment_probability: float = 0.8  # an HDR map, when environments/ has some, else the sky
    # Triangles per user mesh: a heavier mesh is simplified once at load (quadric decimation,
    # cached on disk; `lightpipe.assets.simplify`); 0: no budget. Part of the identity.
    max_triangles: int = 200_000
    # Loaded meshes, maps and images kept per process (least recently used go first); speed
    # and memory only.
    mesh_cache_mb: int = 1024


@dataclass(frozen=True)
class RenderSettings(Record):
    """`settings.render.*`: `shadows`, `ambient_occlusion`, `antialias`, `motion_blur_samples`
    and `max_texture_size` change the pixels; the rest is speed/memory."""

    shadows: bool = True  # soft shadows of the sun (a filtered shadow map)
    ambient_occlusion: bool = True  # screen-space occlusion of the sky light
    antialias: int = 2  # supersampling factor per axis for color (1 = off)
    motion_blur_samples: int = 4  # sub-frames per frame with camera.motion_blur
    compile: bool = False  # torch.compile the CPU kernels: faster, same bytes (needs a C++ compiler)
    native: bool = True  # the C kernels built at install, on CPU: fastest, same bytes
    frames_per_chunk: int = 4
    max_candidates: int = 4_000_000
    # Videos a task renders at once on a CPU, each on its share of the threads (1 on a GPU and
    # with `compile`). Speed only: the same bytes. A stop finishes the videos already started.
    videos_in_flight: int = 2
    # Texels per side of a texture's largest mip level (a larger map is reduced to it): a
    # power of two in [64, 8192]. Changes the pixels (part of the identity).
    max_texture_size: int = 2048


@dataclass(frozen=True)
class Settings(Record):
    """`settings.*`: what to generate and where."""

    num_videos: int = 80
    output_dir: str = "output"
    overwrite: bool = False
    # Seconds to wait for another run writing into output_dir to finish (0: refuse at once).
    lock_wait: float = 0.0
    dataset_split: DatasetSplit = field(default_factory=DatasetSplit)
    video: VideoSettings = field(default_factory=VideoSettings)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    outputs: tuple[OutputName, ...] = ("color", "depth")
    assets: AssetSettings = field(default_factory=AssetSettings)
    scene: SceneSettings = field(default_factory=SceneSettings)
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    lighting: LightingSettings = field(default_factory=LightingSettings)
    materials: MaterialSettings = field(default_factory=MaterialSettings)
    render: RenderSettings = field(default_factory=RenderSettings)

    @property
    def num_train(self) -> int:
        """Number of train videos (see `train_count`)."""
        split = self.dataset_split
        return train_count(self.num_videos, split.train_ratio, split.rule)

    def split_of(self, index: int) -> str:
        split = self.dataset_split
        return split_of(index, self.num_train, split.rule, split.train_ratio)


def train_count(num_videos: int, train_ratio: float, rule: str = "contiguous") -> int:
    """Train videos among the first `num_videos` indices: `round(num_videos * train_ratio)`
    (Python's round, half to even) for `contiguous`; `floor(n * train_ratio + 0.5)` for
    `interleaved`, which counts the train videos among the first n of any larger dataset too."""
    if rule == "interleaved":
        return math.floor(num_videos * train_ratio + 0.5)
    return int(round(num_videos * train_ratio))


def split_of(index: int, num_train: int, rule: str = "contiguous",
             train_ratio: float = 1.0) -> str:
    """`contiguous`: `train` for the first `num_train` global indices, `val` for the rest.
    `interleaved`: index i is `train` when the train count grows from i to i + 1 videos
    (`train_count`); with train_ratio 0.8 indices 2, 7, 12, ... are val. It depends on the index
    and the ratio only, never on `num_videos`: growing a dataset moves no video."""
    if rule == "interleaved":
        grows = (train_count(index + 1, train_ratio, rule)
                 > train_count(index, train_ratio, rule))
        return SPLITS[0] if grows else SPLITS[1]
    return SPLITS[0] if index < num_train else SPLITS[1]


def split_indices(split: str, num_videos: int, num_train: int, rule: str = "contiguous",
                  train_ratio: float = 1.0) -> Sequence[int]:
    """The global indices of `split`, ascending."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if rule == "interleaved":
        return [i for i in range(num_videos)
                if split_of(i, num_train, rule, train_ratio) == split]
    return range(num_train) if split == SPLITS[0] else range(num_train, num_videos)
