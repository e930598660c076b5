"""Validation of the settings: every bad value named with its key, what is allowed and a hint."""

from __future__ import annotations

import dataclasses
import os
import shutil

from lightpipe.config.settings import PHYSICAL_FAMILIES, ProjectSettings, Range, Settings
from lightpipe.errors import ConfigError

MAX_SEED = 2**32 - 1
MAX_SIDE = 8192
MIN_TRIANGLES = 100  # a smaller budget would reduce meshes to a few facets
TEXTURE_SIZES = tuple(2**k for k in range(6, 14))  # 64 ... 8192 texels per side


def validate_settings(project: ProjectSettings, settings: Settings) -> None:
    """Raise ConfigError naming the key, the value and what is allowed."""
    video, split, enc, scene, render = (
        settings.video, settings.dataset_split, settings.encoder, settings.scene, settings.render
    )
    _require(isinstance(project.seed, int) and not isinstance(project.seed, bool)
             and 0 <= project.seed <= MAX_SEED, "project.seed", project.seed,
             f"an integer in [0, {MAX_SEED}] (2**32 - 1, what NumPy and Lightning seed with)",
             "seed 0 is valid")
    _require(settings.num_videos >= 1, "settings.num_videos", settings.num_videos, "an integer >= 1")
    _require(settings.lock_wait >= 0, "settings.lock_wait", settings.lock_wait,
             "a number of seconds >= 0", "0 refuses at once when another run writes output_dir")
    _require(0.0 < split.train_ratio <= 1.0, "settings.dataset_split.train_ratio", split.train_ratio,
             "a number in (0, 1]")
    for key in ("width", "height"):
        value = getattr(video, key)
        _require(2 <= value <= MAX_SIDE and value % 2 == 0, f"settings.video.{key}", value,
                 f"an even integer in [2, {MAX_SIDE}]",
                 "H.264 yuv420p needs even sizes; its highest level (6.2) stops at 8192x4320")
    _require(video.num_frames >= 1, "settings.video.num_frames", video.num_frames, "an integer >= 1")
    _validate_outputs(settings)
    _validate_memory(settings)
    _require(video.fps > 0, "settings.video.fps", video.fps, "an integer > 0")
    _require(0 <= enc.crf <= 51, "settings.encoder.crf", enc.crf, "an integer in [0, 51]")
    _require(enc.threads >= 1, "settings.encoder.threads", enc.threads,
             "an integer >= 1 (pinned: x264's output bytes depend on it)")
    _require(enc.keyframe_interval >= 1, "settings.encoder.keyframe_interval",
             enc.keyframe_interval, "an integer >= 1 (frames between keyframes)")
    _require(enc.max_pending_videos >= 1, "settings.encoder.max_pending_videos",
             enc.max_pending_videos, "an integer >= 1")
    _require(scene.min_objects >= 0, "settings.scene.min_objects", scene.min_objects, "an integer >= 0")
    _require(scene.max_objects >= scene.min_objects, "settings.scene.max_objects", scene.max_objects,
             f"an integer >= settings.scene.min_objects ({scene.min_objects})")
    _require(render.antialias in (1, 2, 3, 4), "settings.render.antialias", render.antialias,
             "1 (off), 2, 3 or 4 (samples per axis)")
    _validate_ranges(settings)
    if scene.dynamics == "physics":
        _validate_physics(settings)
    _require(settings.assets.mesh_cache_mb >= 1, "settings.assets.mesh_cache_mb",
             settings.assets.mesh_cache_mb, "an integer number of megabytes >= 1",
             "loaded meshes, maps and images kept per process; the least recently used go first")
    budget = settings.assets.max_triangles
    _require(isinstance(budget, int) and not isinstance(budget, bool)
             and (budget == 0 or budget >= MIN_TRIANGLES), "settings.assets.max_triangles",
             budget, f"0 (no budget) or a whole number of triangles >= {MIN_TRIANGLES}",
             "heavier user meshes are simplified to it at load (default 200000)")
    _require(render.motion_blur_samples >= 1, "settings.render.motion_blur_samples",
             render.motion_blur_samples, "an integer >= 1 (sub-frames per frame)")
    _require(render.frames_per_chunk >= 1, "settings.render.frames_per_chunk",
             render.frames_per_chunk, "an integer >= 1")
    _require(render.videos_in_flight >= 1, "settings.render.videos_in_flight",
             render.videos_in_flight, "an integer >= 1 (videos rendered at once on a CPU)")
    _require(render.max_candidates >= 65_536, "settings.render.max_candidates",
             render.max_candidates, "an integer >= 65536")
    size = render.max_texture_size
    _require(isinstance(size, int) and not isinstance(size, bool) and size in TEXTURE_SIZES,
             "settings.render.max_texture_size", size,
             f"a power of two in [{TEXTURE_SIZES[0]}, {TEXTURE_SIZES[-1]}] "
             f"({', '.join(map(str, TEXTURE_SIZES))})",
             "texels per side of a texture's largest mip level; larger maps are reduced to it")
    _require(not render.compile or cxx_compiler() is not None, "settings.render.compile",
             render.compile, "false on a machine without a C++ compiler (torch.compile builds "
             "C++ kernels: install g++ or set CXX)")


def video_memory_bytes(settings: Settings) -> int:
    """What rendering and encoding one video holds at once: its frames (colour, depth, extras)
    plus a chunk's working set (about 200 bytes per pixel and frame)."""
    video = settings.video
    pixels = video.width * video.height
    from lightpipe.dataset.outputs import frame_bytes  # the registry: light, numpy only

    per_frame = frame_bytes(settings.outputs)
    frames = video.num_frames * pixels * per_frame
    working = settings.render.frames_per_chunk * pixels * 200
    return frames * (1 + settings.encoder.max_pending_videos) + working


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _validate_memory(settings: Settings) -> None:
    needed, total = video_memory_bytes(settings), physical_memory_bytes()
    if total is not None and needed > 0.8 * total:
        video = settings.video
        raise ConfigError(
            "settings.video", f"{video.width}x{video.height}x{video.num_frames}",
            f"a size whose frames fit in memory: about {needed / 2**30:.1f} GiB per video "
            f"against {total / 2**30:.1f} GiB here",
            "lower the size or num_frames, or settings.encoder.max_pending_videos")


def cxx_compiler() -> str | None:
    """The C++ compiler torch.compile would use on CPU (CXX, else g++ or c++), if installed."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++"]
    return next((path for path in map(shutil.which, names) if path), None)


def _validate_outputs(settings: Settings) -> None:
    """Every name in `settings.outputs` is a registered output the videos can have."""
    from lightpipe.dataset.outputs import check_outputs  # the registry: light, numpy only

    check_outputs(settings.outputs, settings.video.num_frames)


def _validate_ranges(settings: Settings) -> None:
    """Every `(low, high)` range: two numbers, low <= high; positives where negatives make no sense."""
    positive = {"object_scale", "object_speed", "fov_y_deg", "distance", "height", "intensity",
                "bounce_height", "ground_uv_scale", "capture_height", "sun_radius_deg",
                "environment_intensity", "roughness_scale", "ground_roughness_scale", "shutter",
                "f_number"}
    for section in ("scene", "camera", "lighting", "materials"):
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
    for key, probability in (
            ("assets.background_image_probability", settings.assets.background_image_probability),
            ("assets.environment_probability", settings.assets.environment_probability),
            ("materials.metallic_probability", settings.materials.metallic_probability),
            ("scene.environment_ground_probability", scene.environment_ground_probability)):
        _require(0.0 <= probability <= 1.0, f"settings.{key}", probability,
                 "a probability in [0, 1]")
    _require(1.7 <= lighting.turbidity[0] and lighting.turbidity[1] <= 10.0,
             "settings.lighting.turbidity", list(lighting.turbidity),
             "[low, high] within [1.7, 10] (the range the Preetham sky model covers)")
    _require(lighting.sun_radius_deg[1] <= 10.0, "settings.lighting.sun_radius_deg",
             list(lighting.sun_radius_deg), "degrees in (0, 10] (the real sun: 0.27)")
    _require(camera.shutter[1] <= 1.0, "settings.camera.shutter", list(camera.shutter),
             "fractions of the frame interval in (0, 1]")
    _require(abs(camera.exposure_bias_ev[0]) <= 8 and abs(camera.exposure_bias_ev[1]) <= 8,
             "settings.camera.exposure_bias_ev", list(camera.exposure_bias_ev),
             "stops in [-8, 8]")
    _require(0.0 <= lighting.color_jitter <= 1.0, "settings.lighting.color_jitter",
             lighting.color_jitter, "a number in [0, 1]")
    _require(len(camera.trajectories) > 0, "settings.camera.trajectories", [],
             "a non-empty list of orbit, dolly, pan, crane, static")
    _require(scene.ground in ("material", "environment"), "settings.scene.ground", scene.ground,
             "material or environment",
             "environment: videos lit by an HDR map stand on its lower hemisphere")
    _require(len(scene.motions) > 0, "settings.scene.motions", [],
             "a non-empty list of static, linear, orbit, bounce")
    _require(0 < lighting.elevation_deg[0] and lighting.elevation_deg[1] <= 90,
             "settings.lighting.elevation_deg", list(lighting.elevation_deg),
             "[low, high] degrees with 0 < low <= high <= 90", "the key light is above the horizon")


MAX_STEP_HZ = 10_000


def _validate_physics(settings: Settings) -> None:
    """`settings.physics.*`, and an fps the fixed step serves exactly."""
    physics, fps = settings.physics, settings.video.fps
    _require(1 <= physics.step_hz <= MAX_STEP_HZ, "settings.physics.step_hz", physics.step_hz,
             f"an integer in [1, {MAX_STEP_HZ}] (simulation steps per second)")
    if fps > 0 and physics.step_hz % fps:
        served = [f for f in range(1, physics.step_hz + 1) if physics.step_hz % f == 0]
        raise ConfigError(
            "settings.video.fps", fps,
            f"an fps that divides settings.physics.step_hz ({physics.step_hz}), so every frame "
            f"falls on a simulation step: {', '.join(map(str, served))}",
            f"or set --settings.physics.step_hz to a multiple of {fps} "
            f"(e.g. {fps * max(1, -(-960 // fps))}), or --settings.scene.dynamics kinematic")
    for family in PHYSICAL_FAMILIES:
        props, key = getattr(physics, family), f"settings.physics.{family}"
        for name in ("friction", "restitution", "density"):
            value = getattr(props, name)
            _require(len(value) == 2 and value[0] <= value[1], f"{key}.{name}", list(value),
                     "[low, high] with low <= high")
        _require(props.friction[0] >= 0, f"{key}.friction", list(props.friction),
                 "[low, high] with 0 <= low <= high (a Coulomb coefficient)")
        _require(0 <= props.restitution[0] and props.restitution[1] <= 1,
                 f"{key}.restitution", list(props.restitution),
                 "[low, high] within [0, 1] (1: a perfectly elastic bounce; more would add "
                 "energy)")
        _require(props.density[0] > 0, f"{key}.density", list(props.density),
                 "[low, high] kg/m^3 with 0 < low <= high (mass = density x volume: a body "
                 "needs mass)")
    for name, low in (("launch_height", 0.0), ("launch_distance", 0.0), ("flight_time", 0.0),
                      ("angular_speed", 0.0)):
        value = getattr(physics, name)
        _require(len(value) == 2 and low <= value[0] <= value[1], f"settings.physics.{name}",
                 list(value), f"[low, high] with {low:g} <= low <= high")
    _require(physics.flight_time[0] > 0, "settings.physics.flight_time",
             list(physics.flight_time), "[low, high] seconds with 0 < low <= high")
    _require(0 <= physics.settle_seconds <= 60, "settings.physics.settle_seconds",
             physics.settle_seconds, "seconds in [0, 60]")
    _require(0 <= physics.thrown_share <= 1, "settings.physics.thrown_share",
             physics.thrown_share, "a probability in [0, 1]")
    _require(physics.min_thrown >= 0, "settings.physics.min_thrown", physics.min_thrown,
             "an integer >= 0")
    _require(physics.landing_radius >= 0, "settings.physics.landing_radius",
             physics.landing_radius, "metres >= 0")
    _require(physics.collision in ("hull", "decomposition"), "settings.physics.collision",
             physics.collision, "hull or decomposition")


def _require(ok: bool, key: str, value: object, allowed: str, hint: str = "") -> None:
    if not ok:
        raise ConfigError(key, value, allowed, hint)
