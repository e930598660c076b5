"""Shadows, segmentation, normals, silhouette anti-aliasing and user assets, on real specs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lightpipe.config.settings import (
    CameraSettings,
    PhysicsSettings,
    SceneSettings,
    Settings,
    VideoSettings,
)
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Motion
from lightpipe.render.renderer import RenderOptions, render_video

from asset_files import PURPLE, RED, make_asset_root

W, H = 160, 96


LIGHT_AZIMUTH = 90.0  # light from +z, camera on the +x side: the shadow falls sideways


def one_object_spec(asset_id: str = "builtin:box/00", elevation: float = 45.0):
    """A static camera looking at one static object at the origin, lit from the side."""
    settings = Settings(num_videos=1, video=VideoSettings(W, H, 2, 8),
                        scene=SceneSettings(dynamics="kinematic", min_objects=1, max_objects=1,
                                            motions=("static",)),  # it stays where it is put
                        camera=CameraSettings(trajectories=("static",), shake_probability=0.0))
    spec = plan_video(11, settings, 0, asset_pools(11, settings))
    obj = dataclasses.replace(spec.objects[0], asset_id=asset_id, position=(0.0, 0.6, 0.0),
                              scale=0.6, rotation_deg=(0.0, 30.0, 0.0), spin_deg_s=(0, 0, 0),
                              motion=Motion.STATIC, tint=(1.0, 1.0, 1.0))
    camera = dataclasses.replace(spec.camera, target=(0.0, 0.5, 0.0), distance=4.0, height=2.0,
                                 fov_y_deg=50.0, azimuth_deg=0.0)
    light = dataclasses.replace(spec.light, elevation_deg=elevation, azimuth_deg=LIGHT_AZIMUTH)
    return dataclasses.replace(spec, objects=(obj,), camera=camera, light=light)


def project(video, frame: int, point) -> tuple[int, int]:
    p = video.extrinsics[frame] @ np.array([*point, 1.0])
    uv = video.intrinsics @ p[:3]
    return int(uv[1] / uv[2]), int(uv[0] / uv[2])


def test_shadow_darkens_the_ground_under_the_object():
    spec = one_object_spec()
    plain = render_video(spec, options=RenderOptions(segmentation=True))
    shaded = render_video(spec, options=RenderOptions(shadows=True, segmentation=True))
    ground = plain.segmentation[0] == 1
    darker = shaded.color[0].astype(int).sum(-1) < plain.color[0].astype(int).sum(-1) - 30
    assert (darker & ground).sum() > 50, "no shadow on the ground"
    # The shadow falls away from the light, next to the object's foot.
    az, el = np.radians(LIGHT_AZIMUTH), np.radians(45.0)
    towards_light = np.array([np.cos(el) * np.cos(az), np.sin(el), np.cos(el) * np.sin(az)])
    foot = np.array([0.0, 0.6, 0.0]) - towards_light * (0.6 / towards_light[1])
    row, col = project(plain, 0, (foot[0], 0.0, foot[2]))
    assert darker[row, col] and ground[row, col]
    # Far from the object nothing changes; depth never changes.
    assert np.array_equal(shaded.color[0][:10], plain.color[0][:10])
    assert np.array_equal(shaded.depth, plain.depth)


def test_segmentation_ids_match_the_objects():
    spec = one_object_spec()
    video = render_video(spec, options=RenderOptions(segmentation=True))
    ids = set(np.unique(video.segmentation).tolist())
    assert ids == {0, 1, 2}
    assert video.segmentation[0][project(video, 0, (0.0, 0.6, 0.0))] == 2
    assert np.array_equal(video.segmentation == 0, video.depth == 0)


def test_normals_face_the_camera_and_the_ground_is_frontal_up():
    spec = one_object_spec()
    video = render_video(spec, options=RenderOptions(segmentation=True, normals=True))
    normals, seg = video.normals[0], video.segmentation[0]
    up_in_camera = video.extrinsics[0][:3, :3] @ np.array([0.0, 1.0, 0.0])
    assert np.allclose(normals[seg == 1], up_in_camera, atol=1e-3)
    k = video.intrinsics
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    rays = np.stack([(xs - k[0, 2]) / k[0, 0], (ys - k[1, 2]) / k[1, 1], np.ones_like(xs)], -1)
    covered = seg > 0
    assert ((normals * rays).sum(-1)[covered] <= 1e-6).all()
    assert np.allclose(np.linalg.norm(normals[covered], axis=-1), 1.0, atol=1e-4)
    assert not normals[~covered].any()


def test_antialiasing_changes_only_silhouette_pixels():
    spec = one_object_spec()
    sharp = render_video(spec, options=RenderOptions(segmentation=True))
    smooth = render_video(spec, options=RenderOptions(antialias=2, segmentation=True))
    changed = (sharp.color[0] != smooth.color[0]).any(-1)
    assert changed.sum() > 20
    seg = np.pad(sharp.segmentation[0].astype(int), 1, mode="edge")
    neighbours = np.stack([seg[1 + dy:1 + dy + H, 1 + dx:1 + dx + W]
                           for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
    boundary = (neighbours != neighbours[4]).any(0)
    assert not (changed & ~boundary).any(), "AA changed pixels away from silhouettes"
    assert np.array_equal(sharp.depth, smooth.depth)


@pytest.fixture(scope="module")
def asset_root(tmp_path_factory):
    return str(make_asset_root(tmp_path_factory.mktemp("assets")))


def settled_object_spec(asset_id: str = "builtin:box/00"):
    """`one_object_spec`'s scene simulated: the object is dropped (none is thrown), tilted,
    and settles on the ground before the first frame."""
    spec = one_object_spec(asset_id)
    settings = Settings(num_videos=1, video=VideoSettings(W, H, 2, 8),
                        scene=SceneSettings(min_objects=1, max_objects=1),
                        physics=PhysicsSettings(thrown_share=0.0, min_thrown=0),
                        camera=CameraSettings(trajectories=("static",), shake_probability=0.0))
    physical = plan_video(11, settings, 0, asset_pools(11, settings))
    obj = dataclasses.replace(physical.objects[0], asset_id=asset_id, position=(0.0, 0.0, 0.0),
                              scale=0.6, rotation_deg=(10.0, 30.0, 0.0), tint=(1.0, 1.0, 1.0))
    assert obj.body is not None and not obj.body.thrown
    return dataclasses.replace(spec, objects=(obj,), physics=physical.physics)


@pytest.mark.parametrize("dynamics", ["kinematic", "physics"])
def test_objects_rest_on_the_ground(dynamics):
    spec = one_object_spec("builtin:box/00") if dynamics == "kinematic" else settled_object_spec()
    video = render_video(spec, options=RenderOptions(segmentation=True))
    rows, cols = np.nonzero(video.segmentation[0] == 2)
    z = video.depth[0][rows, cols].astype(np.float64)
    k, pose = video.intrinsics, video.extrinsics[0]
    camera = np.stack([(cols + 0.5 - k[0, 2]) / k[0, 0] * z, (rows + 0.5 - k[1, 2]) / k[1, 1] * z, z])
    world = pose[:3, :3].T @ (camera - pose[:3, 3:4])
    assert abs(world[1].min()) < 0.03  # the lowest visible point of the box is on the ground


@pytest.mark.parametrize("asset,expect", [
    ("box/box.obj", RED),  # the box's UVs point into the red half of its texture
    ("ball.glb", (40, 60, 230)), ("cube.ply", (250, 250, 20)),
    ("can.stl", PURPLE)])  # an STL carries no colour: the planned material shows
def test_each_user_format_renders_where_planned_with_its_colours(asset_root, asset, expect):
    """Each object is planned with the purple texture: a file with colours of its own shows them
    instead, and an STL, which has none, shows the planned texture."""
    spec = one_object_spec(f"user:objects/{asset}", elevation=89.0)
    planned = dataclasses.replace(spec.objects[0], material_id="user:textures/purple.png",
                                  roughness_scale=1.0, metal=0.0)
    spec = dataclasses.replace(spec, objects=(planned,))
    video = render_video(spec, options=RenderOptions(asset_root=asset_root, segmentation=True))
    mask = video.segmentation[0] == 2
    assert mask.sum() > 100
    assert mask[project(video, 0, (0.0, 0.1, 0.0))]  # it rests on the ground at the origin
    colors = video.color[0][mask].astype(float)
    direction = np.array(expect) / np.linalg.norm(expect)
    cosine = colors @ direction / np.maximum(np.linalg.norm(colors, axis=1), 1e-6)
    assert np.median(cosine) > 0.97, f"{asset} does not show {expect}"


def test_background_image_shows_behind_everything(asset_root):
    spec = one_object_spec()
    spec = dataclasses.replace(spec, background=dataclasses.replace(
        spec.background, image_id="user:backgrounds/sunset.png"))
    video = render_video(spec, options=RenderOptions(asset_root=asset_root, segmentation=True))
    sky = video.segmentation[0] == 0
    assert sky.sum() > 100 and (video.color[0][sky] == (250, 120, 40)).all()


def test_ambient_occlusion_darkens_the_ground_next_to_the_object_only():
    # Occlusion dims the sky's light only: a bright sky and a weak sun make it plain to see.
    spec = one_object_spec()
    spec = dataclasses.replace(
        spec, environment=dataclasses.replace(spec.environment, intensity=1.25),
        light=dataclasses.replace(spec.light, intensity=0.5),
        ground=dataclasses.replace(spec.ground, material_id="builtin:tiles/00",
                                   tint=(1.0, 1.0, 1.0)))
    plain = render_video(spec, options=RenderOptions(segmentation=True))
    occluded = render_video(spec, options=RenderOptions(ambient_occlusion=True, segmentation=True))
    ground = plain.segmentation[0] == 1
    luma_plain = plain.color[0].astype(int).sum(-1)
    luma_ao = occluded.color[0].astype(int).sum(-1)
    assert (luma_ao <= luma_plain).all()  # occlusion only ever removes light
    darkened = ground & (luma_ao < 0.93 * luma_plain)
    assert darkened.sum() > 10, "no contact darkening on the ground"
    # Where the ground darkens it is within the occlusion radius of the box's footprint.
    depth = plain.depth[0]
    k, ext = plain.intrinsics, plain.extrinsics[0]
    rows, cols = np.nonzero(darkened)
    rays = np.stack([(cols + 0.5 - k[0, 2]) / k[0, 0], (rows + 0.5 - k[1, 2]) / k[1, 1],
                     np.ones(len(rows))]) * depth[rows, cols]
    world = ext[:3, :3].T @ (rays - ext[:3, 3:4])
    assert np.hypot(world[0], world[2]).max() < 0.6 + 0.5
    assert np.array_equal(luma_ao[:10], luma_plain[:10])  # the far ground and sky: open
    assert np.array_equal(plain.depth, occluded.depth)
