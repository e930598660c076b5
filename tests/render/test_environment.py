"""Image-based light: HDR maps read and refused by name, harmonics against brute force, the
sky where the camera looks, a white furnace, and highlights that widen with roughness."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from lightpipe.assets.catalog import AssetError, build_catalog
from lightpipe.assets.environments import load_environment_image
from lightpipe.assets.loader import validate_catalog
from lightpipe.config.settings import CameraSettings, SceneSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import EnvironmentSpec, Motion, Trajectory
from lightpipe.render import camera_response
from lightpipe.render import environment as env_light
from lightpipe.render.lighting import video_lighting
from lightpipe.render.renderer import RenderOptions, render_video

from asset_files import make_asset_root, write_environment, write_image

W, H = 96, 64


def equirect(height: int = 64, base=(0.5, 0.6, 0.8)) -> np.ndarray:
    """A smooth sky-like map: brighter towards the top, a warm patch at one side."""
    rows = (np.arange(height) + 0.5) / height
    cols = (np.arange(2 * height) + 0.5) / (2 * height)
    v, u = np.meshgrid(rows, cols, indexing="ij")
    image = np.ones((height, 2 * height, 3)) * np.array(base)
    image *= (1.5 - v)[..., None]
    patch = np.exp(-((u - 0.3) ** 2 + (v - 0.4) ** 2) / 0.01)
    image += patch[..., None] * np.array([3.0, 1.5, 0.5])
    return image.astype(np.float32)


@pytest.fixture
def root(tmp_path):
    write_environment(tmp_path / "environments" / "sky.hdr", equirect())
    write_environment(tmp_path / "environments" / "sky.exr", equirect())
    write_image(tmp_path / "textures" / "white.png", (255, 255, 255))
    return tmp_path


def test_hdr_and_exr_read_as_linear_rgb(root):
    hdr = load_environment_image(str(root / "environments" / "sky.hdr"))
    exr = load_environment_image(str(root / "environments" / "sky.exr"))
    assert hdr.shape == exr.shape == (64, 128, 3) and hdr.dtype == np.float32
    np.testing.assert_allclose(exr, equirect(), rtol=1e-6)  # float EXR: exact
    np.testing.assert_allclose(hdr, equirect(), rtol=0.02)  # RGBE: 8-bit mantissas
    assert not hdr.flags.writeable


@pytest.mark.parametrize("name,content,message", [
    ("broken.hdr", b"#?RADIANCE\nnot really", "cannot be read"),
    ("square.exr", None, "is 32x32; an equirectangular map is twice as wide as high"),
])
def test_broken_maps_are_named_before_rendering(tmp_path, name, content, message):
    make_asset_root(tmp_path)
    path = tmp_path / "environments" / name
    if content is None:
        write_environment(path, np.ones((32, 32, 3), np.float32))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    with pytest.raises(AssetError, match=f"environment '.*environments/{name}' {message}"):
        validate_catalog(build_catalog(str(tmp_path), builtin=True))


def test_unsupported_environment_file_is_named(tmp_path):
    write_image(tmp_path / "environments" / "sky.png", (1, 2, 3))
    with pytest.raises(AssetError, match=r"unsupported asset file '.*environments/sky.png'"):
        build_catalog(str(tmp_path), builtin=True)


def test_sh_irradiance_matches_brute_force_integration(root):
    environment = env_light.from_equirect(equirect(), size=32)
    level = environment.levels[0]
    directions = env_light.cube_directions(32)
    solid = env_light.texel_solid_angles(32)
    rng = np.random.default_rng(3)
    normals = rng.normal(size=(40, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    mean = (level * solid[..., None]).reshape(-1, 3).sum(0) / (4 * math.pi) * math.pi
    for n in normals:
        cosine = np.maximum((directions * n).sum(-1), 0.0)
        brute = (level * (cosine * solid)[..., None]).reshape(-1, 3).sum(0)
        np.testing.assert_allclose(env_light.irradiance_from_sh(environment.sh, n), brute,
                                   atol=0.04 * mean.max())


def single_object_spec(root, material: str = "user:textures/white.png", **environment):
    settings = Settings(num_videos=1, video=VideoSettings(W, H, 1, 8),
                        scene=SceneSettings(dynamics="kinematic", min_objects=1, max_objects=1,
                                            motions=("static",)),  # the sphere stays put
                        camera=CameraSettings(trajectories=("static",), shake_probability=0.0))
    spec = plan_video(3, settings, 0, asset_pools(3, settings))
    # Objects rest on the ground (y = 0): a unit sphere's centre ends at y = 1.
    obj = dataclasses.replace(spec.objects[0], asset_id="builtin:sphere/00", material_id=material,
                              position=(0.0, 1.0, 0.0), scale=1.0, spin_deg_s=(0, 0, 0),
                              rotation_deg=(0, 0, 0), motion=Motion.STATIC, tint=(1, 1, 1),
                              roughness_scale=1.0, metal=0.0)
    camera = dataclasses.replace(spec.camera, trajectory=Trajectory.STATIC, target=(0, 1.0, 0),
                                 distance=3.2, height=1.0, fov_y_deg=50.0, azimuth_deg=0.0,
                                 exposure_bias_ev=0.0)
    env = EnvironmentSpec(**{"image_id": "user:environments/uniform.hdr", "rotation_deg": 0.0,
                             "turbidity": 3.0, "intensity": 1.0, **environment})
    return dataclasses.replace(spec, objects=(obj,), camera=camera, environment=env,
                               background=dataclasses.replace(spec.background, image_id=""))


def centre_codes(video) -> np.ndarray:
    """The sphere's middle (it fills the centre of the frame)."""
    assert (video.segmentation[0, H // 2 - 3:H // 2 + 3, W // 2 - 3:W // 2 + 3] == 2).all()
    return video.color[0, H // 2 - 3:H // 2 + 3, W // 2 - 3:W // 2 + 3].reshape(-1, 3)


@pytest.mark.parametrize("metal", [0.0, 1.0])
def test_white_furnace_returns_the_environment_radiance(root, metal):
    """Lit only by a uniform environment, a white sphere (diffuse or metal) is as bright as the
    environment itself: no light lost or made."""
    radiance = 0.7
    write_environment(root / "environments" / "uniform.hdr",
                      np.full((32, 64, 3), radiance, np.float32))
    spec = single_object_spec(root)
    spec = dataclasses.replace(spec, objects=(dataclasses.replace(spec.objects[0], metal=metal),))
    video = render_video(spec, options=RenderOptions(asset_root=str(root), segmentation=True))
    lighting = video_lighting(spec, str(root))
    assert lighting.sun_irradiance == (0.0, 0.0, 0.0)  # a uniform map has no sun
    table = camera_response.response_table(lighting.exposure, "cpu")
    import torch
    expected = int(camera_response.encode(torch.tensor([radiance]), table)[0])
    sky = video.color[0, 0, 0]
    assert (sky == expected).all()
    codes = centre_codes(video).astype(int)
    assert np.abs(codes - expected).max() <= 3  # ~5% in radiance around mid grey


def test_highlights_widen_and_dim_with_roughness(root):
    """A metal sphere under a map with one small bright light: as roughness grows the
    reflection of the light spreads (more bright pixels) and its peak falls."""
    image = np.full((64, 128, 3), 0.05, np.float32)
    image[26:29, 95:98] = 20.0  # a small bright light behind the camera, a little up
    write_environment(root / "environments" / "spot.exr", image)
    peaks, areas = [], []
    spec = single_object_spec(root, image_id="user:environments/spot.exr")
    spec = dataclasses.replace(spec, camera=dataclasses.replace(spec.camera,
                                                                exposure_bias_ev=-3.0))
    for scale in (0.3, 0.6, 1.0, 1.6):  # roughness 0.18 .. 0.96 (smoother: under a pixel)
        obj = dataclasses.replace(spec.objects[0], metal=1.0, roughness_scale=scale)
        video = render_video(dataclasses.replace(spec, objects=(obj,)),
                             options=RenderOptions(asset_root=str(root), segmentation=True))
        luminance = video.color[0].astype(float).mean(-1)[video.segmentation[0] == 2]
        base = np.median(luminance)
        peaks.append(luminance.max())
        areas.append((luminance > base + 0.5 * (luminance.max() - base)).sum())
    assert peaks == sorted(peaks, reverse=True) and peaks[0] > peaks[-1] + 50, peaks
    assert areas == sorted(areas) and areas[-1] > 3 * areas[0]


def test_the_sky_seen_is_the_sky_in_that_direction(root):
    """A marker in the map at a known world direction shows where the camera projects it."""
    image = np.full((64, 128, 3), 0.3, np.float32)
    image[27:30, 73:76] = (5.0, 0.0, 0.0)  # longitude ~ +36 deg (towards +x of +z), up ~ +12
    write_environment(root / "environments" / "marker.exr", image)
    spec = single_object_spec(root, image_id="user:environments/marker.exr")
    spec = dataclasses.replace(spec, objects=(), camera=dataclasses.replace(
        spec.camera, height=6.0, target=(0.0, 6.0, 0.0)))  # above the horizon of the ground
    lon = (74.5 / 128 - 0.5) * 2 * math.pi
    lat = (0.5 - 28.5 / 64) * math.pi
    direction = np.array([math.cos(lat) * math.sin(lon), math.sin(lat), math.cos(lat) * math.cos(lon)])
    for rotation in (0.0, 40.0):
        rotated = dataclasses.replace(spec, environment=dataclasses.replace(
            spec.environment, rotation_deg=rotation))
        angle = math.radians(rotation)  # env -> world: a turn about +y
        world = np.array([math.cos(angle) * direction[0] + math.sin(angle) * direction[2],
                          direction[1],
                          -math.sin(angle) * direction[0] + math.cos(angle) * direction[2]])
        # Look along the marker's horizontal direction, level: it is 10 degrees up in view.
        azimuth = math.degrees(math.atan2(-world[2], -world[0]))
        camera = dataclasses.replace(rotated.camera, azimuth_deg=azimuth)
        video = render_video(dataclasses.replace(rotated, camera=camera),
                             options=RenderOptions(asset_root=str(root)))
        red = video.color[0].astype(int)
        score = red[..., 0] - red[..., 1]
        marker = score > score.max() / 2
        rows, cols = np.nonzero(marker)
        p = video.extrinsics[0][:3, :3] @ world  # a direction: rotation only
        u, v = (video.intrinsics @ p)[:2] / p[2]
        assert score.max() > 60 and marker.sum() > 20
        assert abs(cols.mean() + 0.5 - u) <= 1.0 and abs(rows.mean() + 0.5 - v) <= 1.0


def test_compression_noise_negatives_are_clamped_and_counted(tmp_path):
    """Lossy EXR leaves tiny negatives in real maps (-0.002 against means around 1): they are
    clamped to 0 and counted; the rest of the map is untouched."""
    from lightpipe.assets.environments import clamped_values

    image = equirect()
    image[3, 5, 0], image[10, 20, 2] = -0.002, -0.0005
    path = write_environment(tmp_path / "environments" / "noisy.exr", image)
    loaded = load_environment_image(str(path))
    assert clamped_values(str(path)) == 2
    assert loaded[3, 5, 0] == 0.0 and loaded[10, 20, 2] == 0.0 and (loaded >= 0).all()
    image[3, 5, 0] = image[10, 20, 2] = 0.0
    np.testing.assert_array_equal(loaded, image)


@pytest.mark.parametrize("value,message", [
    (float("nan"), "has 2 non-finite values"),
    (float("inf"), "has 2 non-finite values"),
    (-5.0, "has 2 negative values below"),
])
def test_nan_infinite_or_large_negative_maps_are_refused_by_name(tmp_path, value, message):
    make_asset_root(tmp_path)
    image = equirect()
    image[1, 2, 0] = image[4, 8, 1] = value
    write_environment(tmp_path / "environments" / "bad.exr", image)
    with pytest.raises(AssetError, match=f"environment '.*environments/bad.exr' {message}"):
        validate_catalog(build_catalog(str(tmp_path), builtin=True))
