"""Typed configuration: the `project` and `settings` groups of a Lightpipe config."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Literal

from lightpipe.errors import ConfigError

DepthNormalization = Literal["per_video", "per_frame"]
X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
]


@dataclass(frozen=True)
class ProjectSettings:
    """`project.*`: the master seed drives every random choice, Lightning's seed included."""

    seed: int = 42
    name: str = "lightpipe"


@dataclass(frozen=True)
class DatasetSplit:
    """`settings.dataset_split.*`."""

    train_ratio: float = 0.8
    ensure_disjoint_assets: bool = True


@dataclass(frozen=True)
class VideoSettings:
    """`settings.video.*`: frame size and timing (Wan2.1/VACE defaults)."""

    width: int = 832
    height: int = 480
    num_frames: int = 81
    fps: int = 16


@dataclass(frozen=True)
class EncoderSettings:
    """`settings.encoder.*`: H.264 settings; `threads` is pinned because x264's bytes depend on it."""

    preset: X264Preset = "veryfast"
    crf: int = 18
    threads: int = 2
    depth_normalization: DepthNormalization = "per_video"
    max_pending_videos: int = 2


Range = tuple[float, float]
TrajectoryName = Literal["orbit", "dolly", "pan", "crane", "static"]
MotionName = Literal["static", "linear", "orbit", "bounce"]
OutputName = Literal["color", "depth", "segmentation", "normals"]


@dataclass(frozen=True)
class SceneSettings:
    """`settings.scene.*`: what the planner samples objects from (ranges are [low, high])."""

    min_objects: int = 2
    max_objects: int = 5
    object_scale: Range = (0.4, 0.9)  # bounding-sphere radius, metres
    motions: tuple[MotionName, ...] = ("static", "linear", "orbit", "bounce")
    object_speed: Range = (0.1, 0.5)  # m/s for linear motion
    orbit_speed_deg_s: Range = (10.0, 40.0)
    spin_deg_s: Range = (-60.0, 60.0)  # about the vertical axis
    bounce_height: Range = (0.2, 0.8)
    ground_uv_scale: Range = (0.1, 0.35)  # texture repeats per metre


@dataclass(frozen=True)
class CameraSettings:
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


@dataclass(frozen=True)
class LightingSettings:
    """`settings.lighting.*`: the key light (directional) and the ambient level."""

    elevation_deg: Range = (25.0, 70.0)
    intensity: Range = (0.7, 1.1)
    ambient: Range = (0.2, 0.4)
    color_jitter: float = 0.15  # each channel in [1 - jitter, 1]
    specular: Range = (0.1, 0.4)


@dataclass(frozen=True)
class AssetSettings:
    """`settings.assets.*`: built-in procedural assets and/or a directory of your own.

    `root` holds objects/ (OBJ, GLB/glTF, PLY, STL), textures/ and backgrounds/ (PNG, JPG).
    """

    root: str | None = None
    builtin: bool = True
    background_image_probability: float = 0.7  # when backgrounds/ has images, else a sky gradient


@dataclass(frozen=True)
class RenderSettings:
    """`settings.render.*`: `shadows` and `antialias` change the pixels; the rest is speed/memory."""

    shadows: bool = True
    antialias: int = 2  # supersampling factor per axis for color (1 = off)
    compile: bool = False  # torch.compile the CPU kernels: faster, same bytes (needs a C++ compiler)
    frames_per_chunk: int = 4
    max_candidates: int = 4_000_000


@dataclass(frozen=True)
class Settings:
    """`settings.*`: what to generate and where."""

    num_videos: int = 80
    output_dir: str = "output"
    overwrite: bool = False
    dataset_split: DatasetSplit = field(default_factory=DatasetSplit)
    video: VideoSettings = field(default_factory=VideoSettings)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    outputs: tuple[OutputName, ...] = ("color", "depth")
    assets: AssetSettings = field(default_factory=AssetSettings)
    scene: SceneSettings = field(default_factory=SceneSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    lighting: LightingSettings = field(default_factory=LightingSettings)
    render: RenderSettings = field(default_factory=RenderSettings)

    @property
    def num_train(self) -> int:
        """Number of train videos: the first `round(num_videos * train_ratio)` indices."""
        return int(round(self.num_videos * self.dataset_split.train_ratio))

    def split_of(self, index: int) -> str:
        return "train" if index < self.num_train else "val"


# Settings that change speed or where files go, never the bytes of a video.
# `assets.root` is replaced in a dataset's identity by the ids and sha256 of the asset files.
RUNTIME_ONLY_KEYS = ("output_dir", "overwrite", "assets.root", "render.compile",
                     "render.frames_per_chunk", "render.max_candidates",
                     "encoder.max_pending_videos")


def dataset_identity(project: ProjectSettings, settings: Settings) -> dict:
    """The part of the configuration that defines the dataset's bytes (stored in dataset.json)."""
    data = dataclasses.asdict(settings)
    for key in RUNTIME_ONLY_KEYS:
        *parents, leaf = key.split(".")
        node = data
        for parent in parents:
            node = node[parent]
        node.pop(leaf)
    # Normalized as JSON stores it (tuples become lists), so it compares equal after a round trip.
    return json.loads(json.dumps({"project": {"seed": project.seed}, "settings": data}))


def validate_settings(project: ProjectSettings, settings: Settings) -> None:
    """Raise ConfigError naming the key, the value and what is allowed."""
    video, split, enc, scene, render = (
        settings.video, settings.dataset_split, settings.encoder, settings.scene, settings.render
    )
    _require(isinstance(project.seed, int) and project.seed >= 0, "project.seed", project.seed,
             "an integer >= 0", "seed 0 is valid")
    _require(settings.num_videos >= 1, "settings.num_videos", settings.num_videos, "an integer >= 1")
    _require(0.0 < split.train_ratio <= 1.0, "settings.dataset_split.train_ratio", split.train_ratio,
             "a number in (0, 1]")
    num_val = settings.num_videos - settings.num_train
    if split.ensure_disjoint_assets and (settings.num_train == 0 or num_val == 0):
        raise ConfigError(
            "settings.dataset_split.train_ratio", split.train_ratio,
            "a ratio leaving at least one train and one val video when ensure_disjoint_assets is true",
            f"num_videos={settings.num_videos} gives {settings.num_train} train and {num_val} val videos; "
            "change the ratio or set --settings.dataset_split.ensure_disjoint_assets false",
        )
    for key in ("width", "height"):
        value = getattr(video, key)
        _require(value >= 2 and value % 2 == 0, f"settings.video.{key}", value,
                 "an even integer >= 2", "H.264 yuv420p needs even frame sizes")
    _require(video.num_frames >= 1, "settings.video.num_frames", video.num_frames, "an integer >= 1")
    _require(video.fps > 0, "settings.video.fps", video.fps, "an integer > 0")
    _require(0 <= enc.crf <= 51, "settings.encoder.crf", enc.crf, "an integer in [0, 51]")
    _require(enc.threads >= 1, "settings.encoder.threads", enc.threads,
             "an integer >= 1 (pinned: x264's output bytes depend on it)")
    _require(enc.max_pending_videos >= 1, "settings.encoder.max_pending_videos",
             enc.max_pending_videos, "an integer >= 1")
    _require(scene.min_objects >= 0, "settings.scene.min_objects", scene.min_objects, "an integer >= 0")
    _require(scene.max_objects >= scene.min_objects, "settings.scene.max_objects", scene.max_objects,
             f"an integer >= settings.scene.min_objects ({scene.min_objects})")
    _require(render.antialias in (1, 2, 3, 4), "settings.render.antialias", render.antialias,
             "1 (off), 2, 3 or 4 (samples per axis)")
    _validate_outputs(settings.outputs)
    _validate_ranges(settings)
    _require(render.frames_per_chunk >= 1, "settings.render.frames_per_chunk",
             render.frames_per_chunk, "an integer >= 1")
    _require(render.max_candidates >= 65_536, "settings.render.max_candidates",
             render.max_candidates, "an integer >= 65536")
    _require(not render.compile or cxx_compiler() is not None, "settings.render.compile",
             render.compile, "false on a machine without a C++ compiler (torch.compile builds "
             "C++ kernels: install g++ or set CXX)")


def cxx_compiler() -> str | None:
    """The C++ compiler torch.compile would use on CPU (CXX, else g++ or c++), if installed."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++"]
    return next((path for path in map(shutil.which, names) if path), None)


def _validate_outputs(outputs: tuple) -> None:
    allowed = ("color", "depth", "segmentation", "normals")
    for name in outputs:
        _require(name in allowed, "settings.outputs", list(outputs), f"a list drawn from {allowed}")
    for needed in ("color", "depth"):
        _require(needed in outputs, "settings.outputs", list(outputs),
                 "a list that includes 'color' and 'depth' (every video has them)")


def _validate_ranges(settings: Settings) -> None:
    """Every `(low, high)` range: two numbers, low <= high; positives where negatives make no sense."""
    positive = {"object_scale", "object_speed", "fov_y_deg", "distance", "height", "intensity",
                "bounce_height", "ground_uv_scale"}
    for section in ("scene", "camera", "lighting"):
        group = getattr(settings, section)
        for f in dataclasses.fields(group):
            value = getattr(group, f.name)
            if f.type != "Range" and f.type is not Range:
                continue
            key = f"settings.{section}.{f.name}"
            ok = len(value) == 2 and value[0] <= value[1]
            _require(ok, key, list(value), "[low, high] with low <= high")
            if f.name in positive:
                _require(value[0] > 0, key, list(value), "[low, high] with 0 < low <= high")
    camera, scene, lighting = settings.camera, settings.scene, settings.lighting
    _require(0 < camera.fov_y_deg[1] < 180, "settings.camera.fov_y_deg", list(camera.fov_y_deg),
             "degrees in (0, 180)")
    _require(0.0 <= camera.shake_probability <= 1.0, "settings.camera.shake_probability",
             camera.shake_probability, "a probability in [0, 1]")
    probability = settings.assets.background_image_probability
    _require(0.0 <= probability <= 1.0, "settings.assets.background_image_probability",
             probability, "a probability in [0, 1]")
    _require(0.0 <= lighting.color_jitter <= 1.0, "settings.lighting.color_jitter",
             lighting.color_jitter, "a number in [0, 1]")
    _require(len(camera.trajectories) > 0, "settings.camera.trajectories", [],
             "a non-empty list of orbit, dolly, pan, crane, static")
    _require(len(scene.motions) > 0, "settings.scene.motions", [],
             "a non-empty list of static, linear, orbit, bounce")
    _require(-90 < lighting.elevation_deg[0] and lighting.elevation_deg[1] <= 90,
             "settings.lighting.elevation_deg", list(lighting.elevation_deg), "degrees in (0, 90]")


def _require(ok: bool, key: str, value: object, allowed: str, hint: str = "") -> None:
    if not ok:
        raise ConfigError(key, value, allowed, hint)


def settings_from_mapping(cls, mapping: dict):
    """Build a (nested) settings dataclass from plain dicts, e.g. a parsed config section."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in mapping:
            continue
        value = mapping[f.name]
        if isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        field_type = _NESTED.get((cls.__name__, f.name))
        kwargs[f.name] = settings_from_mapping(field_type, value) if field_type else value
    return cls(**kwargs)


_NESTED = {
    ("Settings", "dataset_split"): DatasetSplit,
    ("Settings", "video"): VideoSettings,
    ("Settings", "encoder"): EncoderSettings,
    ("Settings", "scene"): SceneSettings,
    ("Settings", "camera"): CameraSettings,
    ("Settings", "lighting"): LightingSettings,
    ("Settings", "render"): RenderSettings,
    ("Settings", "assets"): AssetSettings,
}
