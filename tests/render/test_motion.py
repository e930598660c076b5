"""Optical flow and object coordinates (`render.motion`): analytic motions, the flags, their
consistency, and the native kernels' bits against the eager reference."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
import torch

from lightpipe.config.settings import SceneSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Motion, Trajectory
from lightpipe.render import motion, native
from lightpipe.render.backend import EAGER, NATIVE
from lightpipe.render.renderer import RenderOptions, render_video
from lightpipe.render.shading import pixel_rays
from lightpipe.render.zbuffer import Intrinsics

from asset_files import make_asset_root
from conftest import feature_specs

VALID, INSIDE, VISIBLE = motion.VALID, motion.INSIDE, motion.VISIBLE
FLOW = RenderOptions(flow=True, object_coordinates=True, native=False)
needs_native = pytest.mark.skipif(not native.available(), reason="native kernels not built")


def _planned(width=120, height=80, frames=6, seed=5, index=1, objects=(3, 5)):
    """A kinematic scene: the tests script the motions and compare with their closed forms."""
    settings = Settings(num_videos=4, scene=SceneSettings(dynamics="kinematic",
                                                          min_objects=objects[0],
                                                          max_objects=objects[1]),
                        video=VideoSettings(width=width, height=height, num_frames=frames, fps=8))
    return plan_video(seed, settings, index, asset_pools(seed, settings))


def _still_camera(spec, **changes):
    camera = dataclasses.replace(spec.camera, trajectory=Trajectory.STATIC, orbit_speed_deg_s=0.0,
                                 dolly_speed=0.0, pan_speed_deg_s=(0.0, 0.0), crane_speed=0.0,
                                 shake_amplitude_deg=0.0, shutter=0.0, f_number=0.0)
    return dataclasses.replace(camera, **changes)


def _still(obj, **changes):
    return dataclasses.replace(obj, **{"motion": Motion.STATIC, "spin_deg_s": (0.0, 0.0, 0.0),
                                       "velocity": (0.0, 0.0, 0.0), **changes})


def _centres(video):
    f, h, w = video.depth.shape
    k = video.intrinsics
    u = (np.arange(w) + 0.5)[None, :].repeat(h, 0)
    v = (np.arange(h) + 0.5)[:, None].repeat(w, 1)
    return u, v, (u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1]


def _bilinear(image, x, y):
    """image (H, W, C) sampled at pixel coordinates x, y (centres at i + 0.5)."""
    x0, y0 = np.floor(x - 0.5).astype(int), np.floor(y - 0.5).astype(int)
    ax, ay = (x - 0.5 - x0)[..., None], (y - 0.5 - y0)[..., None]
    h, w = image.shape[:2]
    at = lambda i, j: image[np.clip(j, 0, h - 1), np.clip(i, 0, w - 1)]  # noqa: E731
    return ((1 - ay) * ((1 - ax) * at(x0, y0) + ax * at(x0 + 1, y0))
            + ay * ((1 - ax) * at(x0, y0 + 1) + ax * at(x0 + 1, y0 + 1)))


def _same_around(ids, x, y, value):
    """Whether the 2x2 pixels whose centres surround (x, y) are all inside and of id `value`."""
    h, w = ids.shape
    x0, y0 = np.floor(x - 0.5).astype(int), np.floor(y - 0.5).astype(int)
    ok = (x0 >= 0) & (y0 >= 0) & (x0 + 1 < w) & (y0 + 1 < h)
    for dy in (0, 1):
        for dx in (0, 1):
            ok &= ids[np.clip(y0 + dy, 0, h - 1), np.clip(x0 + dx, 0, w - 1)] == value
    return ok


def _interior(ids):
    """Pixels whose 3x3 neighbourhood has their id (no silhouette)."""
    h, w = ids.shape
    padded = np.pad(ids.astype(np.int64), 1, constant_values=-1)
    same = np.ones(ids.shape, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            same &= padded[dy:dy + h, dx:dx + w] == ids
    return same


def _eroded(mask, steps):
    """`mask` less `steps` pixels around its border."""
    for _ in range(steps):
        mask = mask & _interior(mask.astype(np.int64))
    return mask


def test_the_c_kernels_use_the_same_constants():
    from pathlib import Path

    source = (Path(motion.__file__).parent / "csrc" / "motion.c").read_text()
    defined = {name: int(value) for name, value in
               re.findall(r"#define\s+(\w+)\s+(\d+)", source)}
    assert defined == {name: getattr(motion, name) for name in
                       ("TRANSFORM_SIZE", "BOX_SIZE", "VALID", "INSIDE", "VISIBLE")}


def test_affine_inverse_is_exact_enough():
    rng = np.random.default_rng(0)
    m = np.zeros((5, 4, 4))
    m[:, :3] = rng.normal(size=(5, 3, 4))
    m[:, 3, 3] = 1.0
    assert np.allclose(motion.affine_inverse(m), np.linalg.inv(m), rtol=0, atol=1e-12)


def test_a_panning_camera_moves_the_sky_by_its_rotation():
    """A level camera turning by a known yaw per frame: each sky pixel's flow is where its
    direction lands after the turn, tan(alpha + delta) (turning left moves content right)."""
    base = _planned(objects=(1, 1))
    rate = 24.0  # degrees per second: 3 degrees per frame at 8 fps
    camera = _still_camera(base, trajectory=Trajectory.PAN, pan_speed_deg_s=(rate, 0.0),
                           target=(0.0, base.camera.height, 0.0))
    spec = dataclasses.replace(base, camera=camera, objects=(), num_frames=3)
    video = render_video(spec, options=FLOW)
    k = video.intrinsics
    u, v, rx, ry = _centres(video)
    delta = math.radians(rate / spec.fps)
    alpha = np.arctan(rx)
    for flow, flags, sign in ((video.flow_forward, video.flow_forward_flags, 1),
                              (video.flow_backward, video.flow_backward_flags, -1)):
        z = np.cos(alpha + sign * delta) * np.sqrt(1 + rx * rx)
        eu = k[0, 2] + k[0, 0] * np.tan(alpha + sign * delta)
        ev = k[1, 2] + k[1, 1] * ry / z
        t = 1
        sky = video.segmentation[t] == 0
        assert sky.sum() > 0.3 * sky.size
        assert (flags[t][sky] & VALID).all()
        assert np.abs(flow[t][..., 0] - (eu - u))[sky].max() < 1 / 64
        assert np.abs(flow[t][..., 1] - (ev - v))[sky].max() < 1 / 64
        inside = (eu >= 0) & (eu < spec.width) & (ev >= 0) & (ev < spec.height)
        certain = sky & (np.abs(eu - np.round(eu)) > 1e-3) & (np.abs(ev - np.round(ev)) > 1e-3)
        assert np.array_equal(flags[t][certain] & INSIDE > 0, inside[certain])


def test_a_sky_frame_alone_against_the_closed_form():
    """The frame function with depth 0 (no surface) and a yaw between two extrinsics, eager and
    native."""
    width, height, f = 64, 48, 50.0
    intrinsics = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    delta = math.radians(2.0)
    extrinsics = np.stack([np.eye(4)] * 2)
    c, s = math.cos(delta), math.sin(delta)
    extrinsics[1, :3, :3] = [[c, 0, -s], [0, 1, 0], [s, 0, c]]  # turned by delta to the right
    rays = pixel_rays(Intrinsics(f, f, width / 2, height / 2), width, height, "cpu")
    hw = width * height
    depth, ids = torch.zeros(hw), torch.zeros(hw, dtype=torch.int32)
    table = motion.flow_transforms(np.stack([np.eye(4)[None]] * 2), extrinsics, 0, 1, 0.05)
    params = motion.flow_params(intrinsics, backdrop=False)
    results = []
    for backend in (EAGER, NATIVE) if native.available() else (EAGER,):
        flow, flags = torch.empty(hw, 2), torch.empty(hw, dtype=torch.uint8)
        backend.flow_frame(depth, ids, rays, depth, table, params, width, height, flow, flags)
        results.append((flow.numpy(), flags.numpy()))
    for flow, flags in results[1:]:
        assert np.array_equal(flow, results[0][0]) and np.array_equal(flags, results[0][1])
    flow, flags = results[0]
    u = (np.arange(hw) % width) + 0.5
    v = (np.arange(hw) // width) + 0.5
    alpha = np.arctan((u - width / 2) / f)
    ry = (v - height / 2) / f
    expected_u = width / 2 + f * np.tan(alpha - delta)  # turned right: content moves left
    expected_v = height / 2 + f * ry / (np.cos(alpha - delta) * np.sqrt(1 + np.tan(alpha) ** 2))
    assert np.abs(flow[:, 0] - (expected_u - u)).max() < 1 / 64
    assert np.abs(flow[:, 1] - (expected_v - v)).max() < 1 / 64
    assert (flags & VALID).all()
    # all sky at the target: visible wherever inside
    assert np.array_equal(flags & VISIBLE > 0, flags & INSIDE > 0)
    # a backdrop image: the sky stays still
    flow_t, flags_t = torch.empty(hw, 2), torch.empty(hw, dtype=torch.uint8)
    EAGER.flow_frame(depth, ids, rays, depth, table, motion.flow_params(intrinsics, True), width,
                     height, flow_t, flags_t)
    assert (flow_t == 0).all() and (flags_t == VALID | INSIDE | VISIBLE).all()


def test_an_object_moving_across_the_view_flows_by_fx_dx_over_z():
    base = _planned(objects=(1, 1))
    spec = dataclasses.replace(base, camera=_still_camera(base), objects=(), num_frames=4)
    right = render_video(spec, options=FLOW).extrinsics[0, 0, :3]  # the camera's x in the world
    speed = 0.8  # m/s along the camera's x axis: parallel to the image plane
    target = spec.camera.target
    obj = _still(base.objects[0], motion=Motion.LINEAR, scale=0.4,
                 position=(target[0], 0.4, target[2]))
    obj = dataclasses.replace(obj, velocity=tuple(float(speed * r) for r in right))
    spec = dataclasses.replace(spec, objects=(obj,))
    video = render_video(spec, options=FLOW)
    fx = video.intrinsics[0, 0]
    for t in range(spec.num_frames - 1):
        mine = (video.segmentation[t] == 2) & ((video.flow_forward_flags[t] & VALID) > 0)
        assert mine.sum() > 50
        z = video.depth[t][mine].astype(np.float64)
        expected = fx * (speed / spec.fps) / z
        assert np.abs(video.flow_forward[t][mine][:, 0] - expected).max() < 1e-3
        assert np.abs(video.flow_forward[t][mine][:, 1]).max() < 1e-3
        back = (video.segmentation[t + 1] == 2)
        assert np.abs(video.flow_backward[t + 1][back][:, 0]
                      + fx * (speed / spec.fps) / video.depth[t + 1][back]).max() < 1e-3


def test_a_static_scene_under_an_orbiting_camera_flows_by_reprojection():
    base = _planned()
    camera = dataclasses.replace(_still_camera(base), trajectory=Trajectory.ORBIT,
                                 orbit_speed_deg_s=40.0, crane_speed=0.0)
    spec = dataclasses.replace(base, camera=camera, objects=tuple(_still(o) for o in base.objects),
                               num_frames=4)
    video = render_video(spec, options=FLOW)
    k = video.intrinsics
    u, v, rx, ry = _centres(video)
    for t in range(spec.num_frames):
        for flow, flags, s in ((video.flow_forward, video.flow_forward_flags, t + 1),
                               (video.flow_backward, video.flow_backward_flags, t - 1)):
            if not 0 <= s < spec.num_frames:
                assert (flags[t] == 0).all() and (flow[t] == 0).all()
                continue
            z = video.depth[t].astype(np.float64)
            surface = z > 0
            p = np.stack([rx * z, ry * z, z, np.ones_like(z)], -1)[surface]
            world = np.linalg.solve(video.extrinsics[t], p.T)
            q = (video.extrinsics[s] @ world).T
            ahead = q[:, 2] > spec.camera.near
            eu = k[0, 0] * q[:, 0] / q[:, 2] + k[0, 2]
            ev = k[1, 1] * q[:, 1] / q[:, 2] + k[1, 2]
            got = flow[t][surface]
            assert np.array_equal(flags[t][surface] & VALID > 0, ahead)
            assert np.abs(got[ahead, 0] - (eu - u[surface])[ahead]).max() < 2e-2
            assert np.abs(got[ahead, 1] - (ev - v[surface])[ahead]).max() < 2e-2
            # VISIBLE against frame s's depth around the float64 target
            inside = ahead & (eu >= 0) & (eu < spec.width) & (ev >= 0) & (ev < spec.height)
            assert np.array_equal(flags[t][surface] & INSIDE > 0, inside)
            x0, y0 = np.floor(eu - 0.5).astype(int), np.floor(ev - 0.5).astype(int)
            near = np.zeros(inside.shape, bool)
            hidden = inside.copy()
            for dy in (0, 1):
                for dx in (0, 1):
                    i, j = np.clip(x0 + dx, 0, spec.width - 1), np.clip(y0 + dy, 0, spec.height - 1)
                    there = (x0 + dx == i) & (y0 + dy == j)
                    found = video.depth[s][j, i]
                    near |= there & (np.abs(found - q[:, 2]) < 0.01 * q[:, 2])
                    hidden &= ~there | ((found > 0) & (found < 0.9 * q[:, 2]))
            visible = flags[t][surface] & VISIBLE > 0
            assert visible[inside & near].all() and not visible[hidden].any()
            assert (inside & near).sum() > 0.5 * inside.sum() and hidden.sum() > 0


def test_an_object_passing_behind_another_is_not_visible_there():
    base = _planned(width=192, height=128, frames=9, objects=(2, 2))
    level = _still_camera(base, height=0.35, target=(base.camera.target[0], 0.35,
                                                     base.camera.target[2]))
    spec = dataclasses.replace(base, camera=level, objects=(), num_frames=9)
    pose = render_video(spec).extrinsics[0]
    right, position = pose[0, :3], -pose[:3, :3].T @ pose[:3, 3]
    target = np.array(spec.camera.target)
    middle = (target + position) / 2
    front = _still(base.objects[0], scale=0.35, position=(middle[0], 0.35, middle[2]))
    start = target - 1.2 * right
    back = _still(base.objects[1], motion=Motion.LINEAR, scale=0.45,
                  position=(start[0], 0.35, start[2]))
    back = dataclasses.replace(back, velocity=tuple(float(2.4 * r) for r in right))
    spec = dataclasses.replace(spec, objects=(front, back))
    video = render_video(spec, options=FLOW)
    hidden = shown = 0
    for t in range(spec.num_frames - 1):
        mine = video.segmentation[t] == 3
        flow, flags = video.flow_forward[t], video.flow_forward_flags[t]
        u, v, _, _ = _centres(video)
        x, y = u + flow[..., 0], v + flow[..., 1]
        behind = mine & _same_around(video.segmentation[t + 1], x, y, 2) \
            & ((flags & INSIDE) > 0)
        assert not (flags[behind] & VISIBLE).any()
        hidden += behind.sum()
        shown += (mine & ((flags & VISIBLE) > 0)).sum()
    assert hidden > 20 and shown > 100


@pytest.fixture(scope="module")
def moving():
    """A planned scene whose camera orbits and objects move (linear, orbit, spin)."""
    base = _planned(width=192, height=128, frames=5)
    camera = dataclasses.replace(_still_camera(base), trajectory=Trajectory.ORBIT,
                                 orbit_speed_deg_s=-20.0)
    spec = dataclasses.replace(base, camera=camera)
    assert any(o.motion is not Motion.STATIC for o in spec.objects)
    return spec, render_video(spec, options=FLOW)


def test_object_coordinates_stay_with_the_surface_along_the_flow(moving):
    spec, video = moving
    assert video.object_coordinates.dtype == np.float32
    ids = video.segmentation
    assert (video.object_coordinates[ids < 2] == 0).all()
    coords = video.object_coordinates[ids >= 2]
    assert coords.min() >= 0 and coords.max() <= 1 and coords.std() > 0.1
    errors = []
    for t in range(spec.num_frames - 1):
        u, v, _, _ = _centres(video)
        flow, flags = video.flow_forward[t], video.flow_forward_flags[t]
        x, y = u + flow[..., 0], v + flow[..., 1]
        for value in np.unique(ids[t][ids[t] >= 2]):
            # away from silhouettes (2 pixels), where the surface turns away quickly
            mine = _eroded(ids[t] == value, 2) & ((flags & VISIBLE) > 0) \
                & _same_around(_eroded(ids[t + 1] == value, 2), x, y, True)
            there = _bilinear(video.object_coordinates[t + 1], x[mine], y[mine])
            errors.append(np.abs(there - video.object_coordinates[t][mine]).max(axis=1))
    # bilinear sampling of a curved surface's coordinates (~0.05 per pixel here): small errors
    errors = np.concatenate(errors)
    assert errors.size > 500 and errors.max() < 0.05 and np.percentile(errors, 99) < 0.015


def test_forward_then_backward_returns_to_the_start(moving):
    """Bilinear samples of the backward flow at the forward targets, away from silhouettes:
    exact but for float32 on the (planar) ground; a few hundredths of a pixel on the faceted,
    spinning objects, whose flow field bends at face edges (bilinear sampling's error). The
    worst are a few pixels at sharp creases seen nearly edge-on (an upright cylinder's rim far
    from the camera: 0.08 px), so the largest error may reach a tenth of a pixel, the 99th
    percentile not 0.02."""
    spec, video = moving
    ids = video.segmentation
    ground, objects = [], []
    for t in range(spec.num_frames - 1):
        u, v, _, _ = _centres(video)
        flow, flags = video.flow_forward[t], video.flow_forward_flags[t]
        x, y = u + flow[..., 0], v + flow[..., 1]
        for value in np.unique(ids[t][ids[t] > 0]):
            mine = _eroded(ids[t] == value, 2) & ((flags & VISIBLE) > 0) \
                & _same_around(_eroded(ids[t + 1] == value, 2), x, y, True)
            mine &= _same_around((video.flow_backward_flags[t + 1] & VISIBLE).astype(int), x, y,
                                 VISIBLE)
            back = _bilinear(video.flow_backward[t + 1], x[mine], y[mine])
            error = np.maximum(np.abs(x[mine] + back[:, 0] - u[mine]),
                               np.abs(y[mine] + back[:, 1] - v[mine]))
            (ground if value == 1 else objects).append(error)
    ground, objects = np.concatenate(ground), np.concatenate(objects)
    assert ground.size > 10000 and ground.max() < 1e-3
    assert objects.size > 2000 and objects.max() < 0.1 and np.percentile(objects, 99) < 0.02


def test_flow_needs_the_ids_but_the_old_outputs_keep_their_bytes(moving):
    spec, video = moving
    plain = render_video(spec, options=RenderOptions(native=False))
    assert plain.segmentation is None and plain.flow_forward is None
    assert np.array_equal(plain.color, video.color) and np.array_equal(plain.depth, video.depth)
    assert video.part_to_camera.shape == (spec.num_frames, len(spec.objects) + 1, 4, 4)
    assert video.part_bounds.shape == (len(spec.objects) + 1, 2, 3)
    assert (video.flow_forward_flags[-1] == 0).all() and (video.flow_backward_flags[0] == 0).all()
    assert (video.flow_forward[-1] == 0).all() and (video.flow_backward[0] == 0).all()


def test_options_from_settings_ask_for_the_ids():
    settings = Settings()
    assert not RenderOptions.from_settings(settings).ids
    for outputs, flow, coordinates in ((("color", "flow"), True, False),
                                       (("color", "object_coordinates"), False, True),
                                       (("color", "objects"), False, False)):
        options = RenderOptions.from_settings(dataclasses.replace(settings, outputs=outputs))
        assert (options.flow, options.object_coordinates, options.objects) == \
            (flow, coordinates, "objects" in outputs)
        assert options.ids  # every one of them needs the ids


@pytest.fixture(params=native.runnable_variants() if native.available() else ["none"])
def variant(request):
    native.use_variant(request.param if native.available() else None)
    yield request.param
    native.use_variant(None)


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    assets = make_asset_root(tmp_path_factory.mktemp("assets"))
    specs = feature_specs(assets, count=4)
    assert {bool(s.background.image_id) for s in specs} == {True, False}
    assert any(s.camera.shutter > 0 for s in specs)
    return assets, specs


@needs_native
def test_native_flow_and_coordinates_are_the_eager_bits(specs, moving, variant):
    assets, feature = specs
    names = ("flow_forward", "flow_backward", "flow_forward_flags", "flow_backward_flags",
             "object_coordinates", "segmentation")
    options = dataclasses.replace(FLOW, asset_root=str(assets))
    for spec in [moving[0], *feature]:
        eager = render_video(spec, options=options)
        fast = render_video(spec, options=dataclasses.replace(options, native=True),
                            frames_per_chunk=3)
        for name in names:
            assert np.array_equal(getattr(eager, name), getattr(fast, name)), name
        assert (eager.flow_forward_flags[:-1] & VISIBLE).any()
