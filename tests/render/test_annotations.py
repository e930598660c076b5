"""Per-object annotations (`render.annotations`, `dataset.object_meta`): boxes against the
segmentation and independent float64 references, poses, analytic (kinematic) or simulated
(physics) velocities, JSON round trip, categories, and the cost on a full-size video."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from lightpipe.assets.categories import asset_category
from lightpipe.assets.loader import load_object
from lightpipe.config.settings import CameraSettings, SceneSettings, Settings, VideoSettings
from lightpipe.dataset.object_meta import ObjectsMeta
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Motion
from lightpipe.render import kinematics
from lightpipe.render.annotations import object_annotations, visible_boxes
from lightpipe.render.renderer import RenderOptions, render_video
from lightpipe.render.scene import part_poses, scene_parts, simulated_motion
from lightpipe.render.textures import DEFAULT_MAX_TEXTURE_SIZE

from asset_files import make_asset_root


def planned(objects: int = 4, frames: int = 4, width: int = 64, height: int = 64, seed: int = 3,
            motions=("static", "linear", "orbit", "bounce"), trajectory: str = "orbit",
            dynamics: str = "kinematic"):
    settings = Settings(num_videos=1, video=VideoSettings(width, height, frames, 8),
                        scene=SceneSettings(dynamics=dynamics, min_objects=objects,
                                            max_objects=objects, motions=motions),
                        camera=CameraSettings(trajectories=(trajectory,), shake_probability=0.0))
    return plan_video(seed, settings, 0, asset_pools(seed, settings))


@pytest.fixture(scope="module", params=["kinematic", "physics"])
def rendered(request):
    spec = planned(dynamics=request.param)
    assert (spec.physics is None) == (request.param == "kinematic")
    video = render_video(spec, options=RenderOptions(segmentation=True))
    return spec, video, object_annotations(spec, video.segmentation, video.intrinsics,
                                           video.extrinsics)


def reference_camera_points(spec, video, k):
    """(F,V,3) camera-space vertices of object k by plain matmul (an independent path)."""
    parts = scene_parts(spec)
    poses = part_poses(spec, parts)[:, k + 1]
    v = np.asarray(parts[k + 1].mesh.vertices, np.float64)
    homo = np.concatenate([v, np.ones((len(v), 1))], axis=1)
    return np.einsum("fij,fjk,vk->fvi", video.extrinsics, poses, homo)[..., :3], poses, parts


def test_visible_boxes_are_tight_around_the_segmentation(rendered):
    spec, video, meta = rendered
    assert [t.id for t in meta.objects] == [2 + k for k in range(len(spec.objects))]
    shown = 0
    for track in meta.objects:
        for f in range(spec.num_frames):
            mask = video.segmentation[f] == track.id
            assert track.visible_pixels[f] == int(mask.sum())
            if not mask.any():
                assert track.box_visible[f] is None
                continue
            shown += 1
            ys, xs = np.nonzero(mask)
            assert track.box_visible[f] == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert shown >= 6  # the spec shows its objects


def test_amodal_boxes_match_the_projected_mesh_and_contain_the_visible_pixels(rendered):
    spec, video, meta = rendered
    K = video.intrinsics
    for k, track in enumerate(meta.objects):
        cam, poses, _ = reference_camera_points(spec, video, k)
        for f in range(spec.num_frames):
            assert (cam[f, :, 2] > spec.camera.near).all()  # nothing cut in this spec
            u = K[0, 0] * cam[f, :, 0] / cam[f, :, 2] + K[0, 2]
            v = K[1, 1] * cam[f, :, 1] / cam[f, :, 2] + K[1, 2]
            extent = np.array([u.min(), v.min(), u.max(), v.max()])
            inside = (extent[:2] >= 0).all() and extent[2] <= spec.width \
                and extent[3] <= spec.height
            assert track.box_amodal_clipped[f] == (not inside)
            expected = np.clip(extent, 0, [spec.width, spec.height] * 2)
            if expected[0] >= expected[2] or expected[1] >= expected[3]:
                assert track.box_amodal[f] is None
                continue
            np.testing.assert_allclose(track.box_amodal[f], expected, rtol=0, atol=1e-9)
            box = track.box_visible[f]
            if box is not None:  # every segmented pixel's centre lies in the amodal box
                a = track.box_amodal[f]
                eps = 1e-3
                assert a[0] <= box[0] + 0.5 + eps and a[1] <= box[1] + 0.5 + eps
                assert a[2] >= box[2] - 0.5 - eps and a[3] >= box[3] - 0.5 - eps
            # The oriented 3D box holds the mesh: its projected corners span the amodal box.
            corners = np.asarray(track.box_3d[f])
            c = video.extrinsics[f, :3, :3] @ corners.T + video.extrinsics[f, :3, 3:]
            assert (c[2] > 0).all()
            cu, cv = K[0, 0] * c[0] / c[2] + K[0, 2], K[1, 1] * c[1] / c[2] + K[1, 2]
            assert cu.min() <= extent[0] + 1e-9 and cu.max() >= extent[2] - 1e-9
            assert cv.min() <= extent[1] + 1e-9 and cv.max() >= extent[3] - 1e-9


def test_poses_quaternions_and_3d_boxes_follow_the_render_poses(rendered):
    spec, video, meta = rendered
    for k, (obj, track) in enumerate(zip(spec.objects, meta.objects)):
        _, poses, parts = reference_camera_points(spec, video, k)
        vertices = np.asarray(parts[k + 1].mesh.vertices, np.float64)
        assert track.bounds == (tuple(vertices.min(0)), tuple(vertices.max(0)))
        assert track.scale == obj.scale and track.asset_id == obj.asset_id
        assert track.category == obj.asset_id.split(":")[1].split("/")[0]
        low, high = np.array(track.bounds)
        for f in range(spec.num_frames):
            assert track.position[f] == tuple(poses[f, :3, 3])
            w, x, y, z = track.quaternion[f]
            assert w >= 0 and math.isclose(w * w + x * x + y * y + z * z, 1.0, abs_tol=1e-15)
            rotation = np.array([
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
            np.testing.assert_allclose(rotation, poses[f, :3, :3] / obj.scale, atol=1e-14)
            for c, corner in enumerate(track.box_3d[f]):  # corner c: bits x, y, z = c>>2, >>1, c
                local = np.where([(c >> 2) & 1, (c >> 1) & 1, c & 1], high, low)
                expected = poses[f, :3, :3] @ local + poses[f, :3, 3]
                np.testing.assert_allclose(corner, expected, rtol=0, atol=1e-14)


def test_records_round_trip_exactly_through_json(rendered):
    _, _, meta = rendered
    text = json.dumps(meta.to_dict())
    again = ObjectsMeta.from_dict(json.loads(text))
    assert again == meta and json.dumps(again.to_dict()) == text
    assert isinstance(again.objects[0].box_3d[0][0], tuple)
    assert "NaN" not in text and "Infinity" not in text


def object_spec(motion: Motion, t_spin=(20.0, -35.0, 50.0)):
    spec = planned(objects=1, frames=5)
    obj = dataclasses.replace(spec.objects[0], motion=motion, velocity=(0.3, -0.1, 0.2),
                              bounce_height=0.4, bounce_hz=1.3, orbit_speed_deg_s=40.0,
                              position=(0.7, 0.5, -0.4), rotation_deg=(10.0, 70.0, -30.0),
                              spin_deg_s=t_spin)
    return dataclasses.replace(spec, objects=(obj,)), obj


@pytest.mark.parametrize("motion", list(Motion))
def test_velocities_match_central_differences_of_the_poses(motion):
    spec, obj = object_spec(motion)
    times = [0.11, 0.37, 0.9, 1.7]
    linear, angular = kinematics.object_velocities(obj, spec, times)
    h = 1e-6
    for i, t in enumerate(times):
        after, before = (kinematics.object_poses(obj, spec, [t + s])[0] for s in (h, -h))
        np.testing.assert_allclose(linear[i], (after[:3, 3] - before[:3, 3]) / (2 * h),
                                   rtol=0, atol=1e-7)
        rotation = kinematics.object_poses(obj, spec, [t])[0][:3, :3] / obj.scale
        spin = ((after - before)[:3, :3] / (2 * h * obj.scale)) @ rotation.T  # [omega]x
        np.testing.assert_allclose(angular[i], (spin[2, 1], spin[0, 2], spin[1, 0]),
                                   rtol=0, atol=1e-7)
    if motion is Motion.STATIC:
        assert not linear.any()


def test_bounce_speed_at_the_bounce_is_the_right_hand_derivative():
    spec, obj = object_spec(Motion.BOUNCE)
    at_bounce = [0.0, 1.0 / obj.bounce_hz]
    linear, _ = kinematics.object_velocities(obj, spec, at_bounce)
    assert linear[0, 1] == pytest.approx(math.pi * obj.bounce_hz * obj.bounce_height, rel=1e-12)
    # Frame times: the same values as `times` at the frames.
    spec_linear, spec_angular = kinematics.object_velocities(obj, spec)
    again = kinematics.object_velocities(obj, spec, kinematics.frame_times(spec))
    assert np.array_equal(spec_linear, again[0]) and np.array_equal(spec_angular, again[1])


def test_velocities_in_the_records_are_the_analytic_or_the_simulated_ones(rendered):
    spec, _, meta = rendered
    moving = 0
    for k, (obj, track) in enumerate(zip(spec.objects, meta.objects)):
        if spec.physics is None:
            linear, angular = kinematics.object_velocities(obj, spec)
        else:  # the engine's, at the frames
            motion = simulated_motion(spec)
            linear, angular = motion.velocity[:, k], motion.angular_velocity[:, k]
        assert np.asarray(linear).shape == (spec.num_frames, 3)
        assert track.velocity == tuple(map(tuple, linear.tolist()))
        assert track.angular_velocity == tuple(map(tuple, angular.tolist()))
        moving += bool(np.abs(linear).max() > 1e-3)
    assert moving >= 1  # something moves (a scripted motion, or a thrown body)


def near_plane_spec(offset_forward: float):
    """A static camera at (2, 0.5, 0) looking along -x; a sphere of radius 0.5 (centre at
    y = 0.5 once resting on the ground) `offset_forward` ahead of it and 0.4 to its right."""
    spec = planned(objects=1, frames=2, motions=("static",), trajectory="static")
    camera = dataclasses.replace(spec.camera, target=(0.0, 0.5, 0.0), distance=2.0, height=0.5,
                                 azimuth_deg=0.0, fov_y_deg=60.0)
    obj = dataclasses.replace(spec.objects[0], asset_id="builtin:sphere/00", scale=0.5,
                              position=(2.0 - offset_forward, 0.5, -0.4), motion=Motion.STATIC,
                              rotation_deg=(0.0, 0.0, 0.0), spin_deg_s=(0.0, 0.0, 0.0))
    return dataclasses.replace(spec, camera=camera, objects=(obj,))


def clipped_extent(cam: np.ndarray, faces: np.ndarray, near: float, K: np.ndarray):
    """Reference: clip every triangle against z > near on its own (Sutherland-Hodgman), then
    project all the polygons' corners."""
    points = []
    for face in faces:
        tri = cam[face]
        for i in range(3):
            p, q = tri[i], tri[(i + 1) % 3]
            if p[2] > near:
                points.append(p)
            if (p[2] > near) != (q[2] > near):
                t = (near - p[2]) / (q[2] - p[2])
                points.append(p + t * (q - p))
    if not points:
        return None
    pts = np.array(points)
    u = K[0, 0] * pts[:, 0] / pts[:, 2] + K[0, 2]
    v = K[1, 1] * pts[:, 1] / pts[:, 2] + K[1, 2]
    return np.array([u.min(), v.min(), u.max(), v.max()])


@pytest.mark.parametrize("offset", [0.1, 0.3])
def test_an_object_cut_by_the_near_plane_gets_the_exact_clipped_box(offset):
    spec = near_plane_spec(offset)
    K, extrinsics = kinematics.intrinsics(spec), kinematics.camera_extrinsics(spec)
    segmentation = np.zeros((spec.num_frames, spec.height, spec.width), np.uint16)
    track = object_annotations(spec, segmentation, K, extrinsics).objects[0]
    mesh = load_object(None, "builtin:sphere/00", DEFAULT_MAX_TEXTURE_SIZE).mesh
    pose = part_poses(spec, [None, scene_parts(spec)[1]])[0, 1]
    v = np.asarray(mesh.vertices, np.float64)
    cam = (extrinsics[0] @ pose @ np.concatenate([v, np.ones((len(v), 1))], 1).T).T[:, :3]
    assert (cam[:, 2] <= spec.camera.near).any() and (cam[:, 2] > spec.camera.near).any()
    extent = clipped_extent(cam, mesh.faces, spec.camera.near, K)
    expected = np.clip(extent, 0, [spec.width, spec.height] * 2)
    assert track.box_amodal_clipped == (True, True)
    box = track.box_amodal[0]
    assert box is not None and all(math.isfinite(c) for c in box)
    np.testing.assert_allclose(box, expected, rtol=0, atol=1e-9)
    assert 0 <= box[0] < box[2] <= spec.width and 0 <= box[1] < box[3] <= spec.height


def test_an_object_behind_the_camera_has_no_amodal_box():
    spec = near_plane_spec(-1.5)  # 1.5 m behind the camera
    K, extrinsics = kinematics.intrinsics(spec), kinematics.camera_extrinsics(spec)
    segmentation = np.zeros((spec.num_frames, spec.height, spec.width), np.uint16)
    track = object_annotations(spec, segmentation, K, extrinsics).objects[0]
    assert track.box_amodal == (None, None) and track.box_amodal_clipped == (True, True)
    assert track.box_visible == (None, None) and track.visible_pixels == (0, 0)


def test_the_renderers_parts_and_poses_give_the_same_record(rendered):
    spec, video, meta = rendered
    parts = scene_parts(spec)
    again = object_annotations(spec, video.segmentation, video.intrinsics, video.extrinsics,
                               parts=parts, poses=part_poses(spec, parts))
    assert again == meta


@pytest.mark.parametrize("ids", [7, 100])  # the bitwise path and the mask-per-id path
def test_visible_boxes_of_many_ids(ids):
    rng = np.random.default_rng(0)
    segmentation = rng.integers(0, ids, (3, 20, 30)).astype(np.uint16)
    segmentation[1] = 1
    found = visible_boxes(segmentation, ids)
    for ident in range(2, ids):
        counts, boxes = found[ident]
        for f in range(3):
            ys, xs = np.nonzero(segmentation[f] == ident)
            assert counts[f] == len(xs)
            assert boxes[f] == (None if not len(xs) else
                                (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    with pytest.raises(ValueError, match="segmentation id"):
        visible_boxes(segmentation, 3)


def test_categories_come_from_the_family_or_the_first_folder(tmp_path):
    assert asset_category("builtin:torus/03") == "torus"
    assert asset_category("user:objects/chair/ikea_01.glb") == "chair"
    assert asset_category("user:objects/03001627/abc/models/model_normalized.obj") == "03001627"
    assert asset_category("user:objects/ball.glb") is None
    root = make_asset_root(tmp_path / "assets")
    spec = planned(objects=2, frames=2)
    objects = (dataclasses.replace(spec.objects[0], asset_id="user:objects/box/box.obj"),
               dataclasses.replace(spec.objects[1], asset_id="user:objects/ball.glb"))
    spec = dataclasses.replace(spec, objects=objects)
    video = render_video(spec, options=RenderOptions(asset_root=str(root), segmentation=True))
    meta = object_annotations(spec, video.segmentation, video.intrinsics, video.extrinsics,
                              asset_root=str(root))
    assert [t.category for t in meta.objects] == ["box", None]

