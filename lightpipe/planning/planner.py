"""Pure planning: (settings, master seed, global index) -> VideoSpec; asset pools per split."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

import numpy as np

from lightpipe.assets.catalog import AssetError, catalog_for
from lightpipe.assets.families import material_family
from lightpipe.config.settings import (
    CameraSettings,
    LightingSettings,
    PhysicsSettings,
    SceneSettings,
    Settings,
)
from lightpipe.planning.declared import declared_body, declared_objects
from lightpipe.planning.specs import (
    BackgroundSpec,
    BodySpec,
    CameraSpec,
    EnvironmentSpec,
    GroundSpec,
    LightSpec,
    Motion,
    ObjectSpec,
    PhysicsSpec,
    Trajectory,
    VideoSpec,
)
from lightpipe.records import Record

GRAVITY = 9.81  # m/s^2, along -y


@dataclass(frozen=True)
class AssetPool(Record):
    """The assets one split may draw from."""

    objects: tuple[str, ...]
    materials: tuple[str, ...]
    backgrounds: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()


def asset_pools(seed: int, settings: Settings) -> dict[str, AssetPool]:
    """Train/val asset pools, fixed globally by the master seed.

    With `ensure_disjoint_assets`, each asset goes to val when a hash of (seed, asset id) falls
    below the val fraction, so adding assets never moves an existing one to the other split.
    Without it, both splits share every asset.
    """
    catalog = catalog_for(settings)
    objects, materials = catalog.objects, catalog.materials
    backgrounds, environments = catalog.backgrounds, catalog.environments
    num_val = settings.num_videos - settings.num_train
    if not settings.dataset_split.ensure_disjoint_assets or 0 in (settings.num_train, num_val):
        # Sharing is moot when one split has no video: it draws from every asset.
        pool = AssetPool(objects, materials, backgrounds, environments)
        return {"train": pool, "val": pool}
    val_fraction = 1.0 - settings.dataset_split.train_ratio
    train_obj, val_obj = _split_ids(seed, objects, val_fraction, "object mesh")
    train_mat, val_mat = _split_ids(seed, materials, val_fraction, "material")
    # Backgrounds and environments are optional: a single one can only serve one split (val
    # then gets the procedural sky).
    train_bg, val_bg = _split_optional(seed, backgrounds, val_fraction)
    train_env, val_env = _split_optional(seed, environments, val_fraction)
    return {"train": AssetPool(train_obj, train_mat, train_bg, train_env),
            "val": AssetPool(val_obj, val_mat, val_bg, val_env)}


def split_asset_ids(seed: int, ids: tuple[str, ...], train_ratio: float,
                    optional: bool = False) -> tuple[tuple, tuple]:
    """(train, val) ids of one kind by `asset_pools`' rule with disjoint assets; `optional`
    kinds (backgrounds, environments) with a single id give it to train. AssetError when a
    required kind has fewer than 2."""
    if optional:
        return _split_optional(seed, ids, 1.0 - train_ratio)
    return _split_ids(seed, ids, 1.0 - train_ratio)


def video_rng(seed: int, index: int) -> np.random.Generator:
    """The one RNG of video `index`: it depends on nothing but (master seed, index)."""
    return np.random.default_rng(np.random.SeedSequence([seed, index]))


def plan_video(seed: int, settings: Settings, index: int, pools: dict[str, AssetPool]) -> VideoSpec:
    """Sample every random choice of video `index`. Draw order is fixed: never reorder draws."""
    if not 0 <= index < settings.num_videos:
        raise IndexError(f"video index {index} outside [0, {settings.num_videos})")
    split = settings.split_of(index)
    pool = pools[split]
    rng = video_rng(seed, index)
    video_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
    camera = _plan_camera(rng, settings.camera)
    light = _plan_light(rng, settings.lighting)
    use_image = bool(pool.backgrounds) and rng.random() < settings.assets.background_image_probability
    background = BackgroundSpec(image_id=_choice(rng, pool.backgrounds) if use_image else "")
    ground_material = _choice(rng, pool.materials)
    ground_uv_scale = _uniform(rng, *settings.scene.ground_uv_scale)
    ground_tint = _vec(rng, 0.75, 1.0)
    scene = settings.scene
    count = int(rng.integers(scene.min_objects, scene.max_objects + 1))
    physical = scene.dynamics == "physics"
    # Motions come from their own stream, so the layout and the look below are the same
    # whether the scene is simulated or kinematic.
    motion_rng = np.random.default_rng(int(rng.integers(2**63)))
    objects = declared_objects(_plan_objects(rng, count, pool, scene), settings.assets.root,
                               settings.assets.max_triangles)
    objects = _plan_motions(motion_rng, objects, physical, scene)
    # The look: environment, materials, exposure and lens (drawn after the layout).
    environment = _plan_environment(rng, pool, settings)
    materials = settings.materials
    objects = tuple(replace(obj, roughness_scale=_uniform(rng, *materials.roughness_scale),
                            metal=1.0 if rng.random() < materials.metallic_probability else 0.0)
                    for obj in objects)
    ground = GroundSpec(material_id=ground_material, half_size=40.0, uv_scale=ground_uv_scale,
                        tint=ground_tint,
                        roughness_scale=_uniform(rng, *materials.ground_roughness_scale))
    ground = replace(ground, capture_height=_plan_capture_height(
        video_seed, environment, background, settings.scene))
    camera = _plan_lens(rng, camera, settings.camera)
    video = settings.video
    physics = None
    if physical:  # needs the materials and the camera: drawn last, from the motions' stream
        objects, physics = _plan_physics(motion_rng, objects, ground, camera, settings)
    return VideoSpec(
        index=index, split=split, master_seed=seed, video_seed=video_seed,
        width=video.width, height=video.height, num_frames=video.num_frames, fps=video.fps,
        camera=camera, objects=objects, light=light, environment=environment,
        background=background, ground=ground, physics=physics,
    )


def plan_dataset(seed: int, settings: Settings) -> list[VideoSpec]:
    """Specs of every video, in global-index order."""
    pools = asset_pools(seed, settings)
    return [plan_video(seed, settings, i, pools) for i in range(settings.num_videos)]


def _plan_camera(rng: np.random.Generator, cfg: CameraSettings) -> CameraSpec:
    trajectory = Trajectory(_choice(rng, cfg.trajectories))
    fov = _uniform(rng, *cfg.fov_y_deg)
    target = (_uniform(rng, -0.5, 0.5), _uniform(rng, 0.3, 0.8), _uniform(rng, -0.5, 0.5))
    distance = _uniform(rng, *cfg.distance)
    height = _uniform(rng, *cfg.height)
    azimuth = _uniform(rng, 0.0, 360.0)
    orbit = _uniform(rng, *cfg.orbit_speed_deg_s) * _sign(rng)
    dolly = _uniform(rng, *cfg.dolly_speed) * _sign(rng)
    pan = (_uniform(rng, *cfg.pan_speed_deg_s) * _sign(rng),
           _uniform(rng, *cfg.tilt_speed_deg_s) * _sign(rng))
    crane = _uniform(rng, *cfg.crane_speed) * _sign(rng)
    shaky = rng.random() < cfg.shake_probability
    shake = _uniform(rng, *cfg.shake_amplitude_deg)
    shake_hz = _vec(rng, 0.3, 1.5)
    shake_phase = _vec(rng, 0.0, 2.0 * math.pi)
    return CameraSpec(
        trajectory=trajectory, fov_y_deg=fov, target=target, distance=distance, height=height,
        azimuth_deg=azimuth,
        orbit_speed_deg_s=orbit if trajectory is Trajectory.ORBIT else 0.0,
        dolly_speed=dolly if trajectory is Trajectory.DOLLY else 0.0,
        pan_speed_deg_s=pan if trajectory is Trajectory.PAN else (0.0, 0.0),
        crane_speed=crane if trajectory is Trajectory.CRANE else 0.0,
        shake_amplitude_deg=shake if shaky else 0.0,
        shake_hz=shake_hz if shaky else (0.0, 0.0, 0.0),
        shake_phase=shake_phase if shaky else (0.0, 0.0, 0.0),
        near=0.05, far=100.0, exposure_bias_ev=0.0, shutter=0.0, f_number=0.0,
    )


def _plan_lens(rng: np.random.Generator, camera: CameraSpec, cfg: CameraSettings) -> CameraSpec:
    exposure = _uniform(rng, *cfg.exposure_bias_ev)
    shutter = _uniform(rng, *cfg.shutter)
    f_number = _uniform(rng, *cfg.f_number)
    return replace(camera, exposure_bias_ev=exposure,
                   shutter=shutter if cfg.motion_blur else 0.0,
                   f_number=f_number if cfg.depth_of_field else 0.0)


def _plan_light(rng: np.random.Generator, cfg: LightingSettings) -> LightSpec:
    return LightSpec(
        azimuth_deg=_uniform(rng, 0.0, 360.0),
        elevation_deg=_uniform(rng, *cfg.elevation_deg),
        color=_vec(rng, 1.0 - cfg.color_jitter, 1.0),
        intensity=_uniform(rng, *cfg.intensity),
        radius_deg=_uniform(rng, *cfg.sun_radius_deg),
    )


def _plan_environment(rng: np.random.Generator, pool: AssetPool,
                      settings: Settings) -> EnvironmentSpec:
    use_map = bool(pool.environments) and rng.random() < settings.assets.environment_probability
    image = _choice(rng, pool.environments) if use_map else ""
    return EnvironmentSpec(image_id=image, rotation_deg=_uniform(rng, 0.0, 360.0),
                           turbidity=_uniform(rng, *settings.lighting.turbidity),
                           intensity=_uniform(rng, *settings.lighting.environment_intensity))


GROUND_STREAM = 0xD0E  # names the environment ground's stream (any constant would do)


def _plan_capture_height(video_seed: int, environment: EnvironmentSpec,
                         background: BackgroundSpec, scene: SceneSettings) -> float | None:
    """The environment ground's capture height, or None for the material ground. Only with
    `ground: environment`, for a video lit by an HDR map and shown in front of it (no backdrop
    image), with `environment_ground_probability`. Drawn from a stream of its own, seeded by
    the video seed: every other draw of the video is the same whichever ground it gets, and
    both draws are made whatever the settings, so the height never depends on them."""
    rng = np.random.default_rng(np.random.SeedSequence([video_seed, GROUND_STREAM]))
    chosen = rng.random() < scene.environment_ground_probability
    height = _uniform(rng, *scene.capture_height)
    eligible = (scene.ground == "environment" and bool(environment.image_id)
                and not background.image_id)
    return height if eligible and chosen else None


def _plan_objects(rng: np.random.Generator, count: int, pool: AssetPool,
                  cfg: SceneSettings) -> tuple[ObjectSpec, ...]:
    """The layout: each object's asset, material, size, spot on the ground (clear of the
    others' bounding circles) and tint; no motion yet (`_plan_motions`)."""
    objects: list[ObjectSpec] = []
    placed: list[tuple[float, float, float]] = []
    for _ in range(count):
        scale = _uniform(rng, *cfg.object_scale)
        x, z = _place(rng, scale, placed)
        placed.append((x, z, scale))
        objects.append(ObjectSpec(
            asset_id=_choice(rng, pool.objects), material_id=_choice(rng, pool.materials),
            scale=scale, position=(x, 0.0, z), rotation_deg=(0.0, 0.0, 0.0),
            spin_deg_s=(0.0, 0.0, 0.0), motion=Motion.STATIC, velocity=(0.0, 0.0, 0.0),
            bounce_height=0.0, bounce_hz=0.0, orbit_speed_deg_s=0.0, tint=_vec(rng, 0.7, 1.0),
            roughness_scale=1.0, metal=0.0))  # roughness and metal: drawn with the look
    return tuple(objects)


def _plan_motions(rng: np.random.Generator, objects: tuple[ObjectSpec, ...], physical: bool,
                  cfg: SceneSettings) -> tuple[ObjectSpec, ...]:
    """Rotation and motion of each object. Simulated: any rotation (the simulation settles
    them; bodies come from `_plan_physics`). Kinematic: upright as modelled, turned about the
    vertical only, so a grounded object never tips through the floor or lifts off it (the
    renderer rests its lowest point on the ground), with a drawn motion."""
    if physical:
        return tuple(replace(obj, rotation_deg=_vec(rng, 0.0, 360.0), motion=Motion.PHYSICS)
                     for obj in objects)
    out = []
    for obj in objects:
        motion = Motion(_choice(rng, cfg.motions))
        heading = _uniform(rng, 0.0, 2.0 * math.pi)
        speed = _uniform(rng, *cfg.object_speed)
        bounce = _uniform(rng, *cfg.bounce_height) if motion is Motion.BOUNCE else 0.0
        out.append(replace(
            obj, motion=motion,
            rotation_deg=(0.0, _uniform(rng, 0.0, 360.0), 0.0),
            spin_deg_s=(0.0, _uniform(rng, *cfg.spin_deg_s), 0.0),
            velocity=(speed * math.cos(heading), 0.0, speed * math.sin(heading))
            if motion is Motion.LINEAR else (0.0, 0.0, 0.0),
            bounce_height=bounce,
            # Hops in free fall: a hop of height h takes 2 sqrt(2 h / g) seconds.
            bounce_hz=1.0 / (2.0 * math.sqrt(2.0 * bounce / GRAVITY)) if bounce else 0.0,
            orbit_speed_deg_s=_uniform(rng, *cfg.orbit_speed_deg_s) * _sign(rng)
            if motion is Motion.ORBIT else 0.0))
    return tuple(out)


def _plan_physics(rng: np.random.Generator, objects: tuple[ObjectSpec, ...], ground: GroundSpec,
                  camera: CameraSpec, settings: Settings
                  ) -> tuple[tuple[ObjectSpec, ...], PhysicsSpec]:
    """Physical properties from each material's family (or as `assets.yaml` declares them:
    drawn all the same, so the stream stays), and which objects are thrown: those
    start the video in the air, aimed to land within `landing_radius` of the camera's target
    after `flight_time` (a drop when `launch_distance` is 0)."""
    cfg: PhysicsSettings = settings.physics
    thrown = [rng.random() < cfg.thrown_share for _ in objects]
    for k in range(len(objects)):  # the first objects make up `min_thrown`
        if sum(thrown) >= min(cfg.min_thrown, len(objects)):
            break
        thrown[k] = True
    bodies = []
    for obj, throw in zip(objects, thrown):
        family = material_family(obj.material_id, obj.metal)
        props = getattr(cfg, family)
        friction, restitution = _uniform(rng, *props.friction), _uniform(rng, *props.restitution)
        density = _uniform(rng, *props.density)
        launch = velocity = spin = (0.0, 0.0, 0.0)
        if throw:
            launch, velocity = _plan_throw(rng, obj.scale, camera, settings)
            axis = rng.normal(size=3)
            axis = axis / max(float(np.sqrt((axis ** 2).sum())), 1e-12)
            rate = _uniform(rng, *cfg.angular_speed)
            spin = tuple(float(rate * a) for a in axis)
        body = BodySpec(family=family, density=density, friction=friction,
                        restitution=restitution, thrown=throw, launch_position=launch,
                        linear_velocity=velocity, angular_velocity=spin)
        bodies.append(declared_body(body, settings.assets.root, obj.asset_id))
    ground_family = material_family(ground.material_id)
    ground_props = getattr(cfg, ground_family)
    physics = PhysicsSpec(
        step_hz=cfg.step_hz, substeps=cfg.step_hz // settings.video.fps,
        settle_seconds=cfg.settle_seconds, gravity=GRAVITY, collision=cfg.collision,
        ground_family=ground_family, ground_friction=_uniform(rng, *ground_props.friction),
        ground_restitution=_uniform(rng, *ground_props.restitution))
    return tuple(replace(obj, body=body) for obj, body in zip(objects, bodies)), physics


THROW_TRIES = 16
VIEW_MARGIN = 0.1  # launch and landing points stay this fraction of the frame inside it


def _plan_throw(rng: np.random.Generator, scale: float, camera: CameraSpec, settings: Settings
                ) -> tuple[tuple, tuple]:
    """(launch centre, velocity) of a thrown object: it lands `flight_time` later within
    `landing_radius` of the camera's target, one radius above the ground, and both ends are in
    the first frame's view (resampled up to THROW_TRIES times; then the last try is dropped
    straight down onto its landing point instead)."""
    cfg = settings.physics
    for attempt in range(THROW_TRIES):
        radius = cfg.landing_radius * math.sqrt(rng.random())
        angle = _uniform(rng, 0.0, 2.0 * math.pi)
        land = (camera.target[0] + radius * math.cos(angle), scale,
                camera.target[2] + radius * math.sin(angle))
        distance, heading = _uniform(rng, *cfg.launch_distance), _uniform(rng, 0.0, 2 * math.pi)
        height, flight = _uniform(rng, *cfg.launch_height), _uniform(rng, *cfg.flight_time)
        if attempt == THROW_TRIES - 1:
            distance = 0.0
        launch = (land[0] + distance * math.cos(heading), height + scale,
                  land[2] + distance * math.sin(heading))
        if attempt == THROW_TRIES - 1 or (_in_view(camera, launch, settings)
                                          and _in_view(camera, land, settings)):
            break
    # Ballistic: at `flight` seconds the centre is one radius above the landing point.
    velocity = ((land[0] - launch[0]) / flight,
                (land[1] - launch[1]) / flight + 0.5 * GRAVITY * flight,
                (land[2] - launch[2]) / flight)
    return launch, velocity


def _in_view(camera: CameraSpec, point, settings: Settings) -> bool:
    """Whether `point` is inside the first frame, VIEW_MARGIN in from its edges: the camera at
    its start (distance, height, azimuth from the target, looking at it; shake ignored)."""
    azimuth = math.radians(camera.azimuth_deg)
    eye = (camera.target[0] + camera.distance * math.cos(azimuth), camera.height,
           camera.target[2] + camera.distance * math.sin(azimuth))
    forward = [t - e for t, e in zip(camera.target, eye)]
    norm = math.sqrt(sum(c * c for c in forward))
    forward = [c / norm for c in forward]
    right = [forward[1] * 0.0 - forward[2] * 1.0, forward[2] * 0.0 - forward[0] * 0.0,
             forward[0] * 1.0 - forward[1] * 0.0]  # forward x up
    norm = math.sqrt(sum(c * c for c in right))
    right = [c / norm for c in right]
    up = [right[1] * forward[2] - right[2] * forward[1], right[2] * forward[0]
          - right[0] * forward[2], right[0] * forward[1] - right[1] * forward[0]]
    rel = [p - e for p, e in zip(point, eye)]
    depth = sum(r * f for r, f in zip(rel, forward))
    if depth <= camera.near:
        return False
    tan_y = math.tan(math.radians(camera.fov_y_deg) / 2.0)
    tan_x = tan_y * settings.video.width / settings.video.height
    x = sum(r * c for r, c in zip(rel, right)) / depth / tan_x
    y = sum(r * c for r, c in zip(rel, up)) / depth / tan_y
    return abs(x) <= 1.0 - VIEW_MARGIN and abs(y) <= 1.0 - VIEW_MARGIN


def _place(rng: np.random.Generator, scale: float, placed: list) -> tuple[float, float]:
    """Rejection-sample a ground position in a disk of radius 2 m, away from the placed objects'
    bounding circles; the disk grows by 10 cm every 20 tries, so a free spot is always found."""
    tries = 0
    while True:
        reach = 2.0 + 0.1 * (tries // 20)
        radius, angle = reach * math.sqrt(rng.random()), _uniform(rng, 0.0, 2.0 * math.pi)
        x, z = radius * math.cos(angle), radius * math.sin(angle)
        if all((x - px) ** 2 + (z - pz) ** 2 >= (scale + ps) ** 2 for px, pz, ps in placed):
            return x, z
        tries += 1


def _split_optional(seed: int, ids: tuple[str, ...], val_fraction: float
                    ) -> tuple[tuple, tuple]:
    return _split_ids(seed, ids, val_fraction) if len(ids) > 1 else (ids, ())


def _split_ids(seed: int, ids: tuple[str, ...], val_fraction: float,
               kind: str = "asset") -> tuple[tuple, tuple]:
    if len(ids) < 2:
        raise AssetError(
            f"`settings.dataset_split.ensure_disjoint_assets` gives train and val their own "
            f"{kind}s, but there is only {len(ids)} ({', '.join(ids) or 'none'}): add another, "
            "or set --settings.dataset_split.ensure_disjoint_assets false")
    keyed = sorted(ids, key=lambda asset_id: _unit_hash(seed, asset_id))
    val = [a for a in keyed if _unit_hash(seed, a) < val_fraction]
    train = [a for a in keyed if _unit_hash(seed, a) >= val_fraction]
    if not val:  # keep both pools non-empty: the lowest hash goes to val, the highest to train
        val, train = keyed[:1], keyed[1:]
    if not train:
        train, val = keyed[-1:], keyed[:-1]
    return tuple(sorted(train)), tuple(sorted(val))


def _unit_hash(seed: int, asset_id: str) -> float:
    digest = hashlib.sha256(f"{seed}\0{asset_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _vec(rng: np.random.Generator, low: float, high: float) -> tuple[float, float, float]:
    return tuple(float(v) for v in rng.uniform(low, high, size=3))


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _choice(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]
