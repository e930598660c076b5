import dataclasses

import numpy as np
import pytest
import torch

from lightpipe import native_library
from lightpipe.config.settings import Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render import backend, native, rasterizer
from lightpipe.render.renderer import RenderOptions, camera_space, render_video
from lightpipe.render.scene import build_scene
from lightpipe.render.shading import pixel_rays
from lightpipe.render.zbuffer import Intrinsics


@pytest.fixture(scope="module")
def spec():
    settings = Settings(num_videos=4, video=VideoSettings(width=120, height=72, num_frames=6,
                                                          fps=8))
    return plan_video(5, settings, 1, asset_pools(5, settings))


@pytest.fixture(scope="module")
def reference(spec):
    return render_video(spec)


def test_eager_bytes_do_not_depend_on_chunking_blocks_or_threads(spec, reference, monkeypatch):
    """The eager reference reads every knob: frames per chunk, `max_candidates`, the
    rasterizer's CPU_CHUNK and the shading's PIXEL_BLOCK (the reference: the default backend)."""
    threads = torch.get_num_threads()
    covered = reference.depth > 0
    assert 0.2 < covered.mean() < 1.0, "the check needs both surfaces and background"
    runs = [dict(frames_per_chunk=1, max_candidates=257), dict(frames_per_chunk=4),
            dict(frames_per_chunk=6, max_candidates=5000)]
    try:
        for i, kwargs in enumerate(runs):
            torch.set_num_threads(1 + i % 2)
            monkeypatch.setattr(backend, "PIXEL_BLOCK", [1000, 4096, 1 << 20][i])
            monkeypatch.setattr(rasterizer, "CPU_CHUNK", [1 << 20, 3001, 1 << 16][i])
            video = render_video(spec, options=RenderOptions(native=False), **kwargs)
            assert np.array_equal(video.color, reference.color), kwargs
            assert np.array_equal(video.depth.view(np.int32), reference.depth.view(np.int32))
    finally:
        torch.set_num_threads(threads)


@pytest.mark.skipif(not native.available(), reason="native kernels not built")
def test_native_bytes_do_not_depend_on_chunking_or_threads(spec, reference, monkeypatch):
    """The native kernels' own knobs: frames per chunk, threads, and the items per thread below
    which a kernel's range is not split."""
    threads = torch.get_num_threads()
    try:
        for i, (frames, min_items) in enumerate([(1, 1 << 20), (4, 64), (6, 1000)]):
            torch.set_num_threads(1 + i)
            monkeypatch.setattr(native, "_MIN_PIXELS_PER_THREAD", min_items)
            monkeypatch.setattr(native_library, "MIN_ITEMS_PER_THREAD", min_items)
            video = render_video(spec, frames_per_chunk=frames,
                                 options=RenderOptions(native=True))
            assert np.array_equal(video.color, reference.color), (frames, min_items)
            assert np.array_equal(video.depth.view(np.int32), reference.depth.view(np.int32))
    finally:
        torch.set_num_threads(threads)


def test_depth_is_zero_exactly_where_nothing_is_drawn(spec, reference):
    empty = reference.depth == 0
    assert empty.any() and (~empty).any()
    assert (reference.depth[~empty] > spec.camera.near * 0.99).all()


def test_camera_space_matches_a_float64_reference(spec):
    scene = build_scene(spec, "cpu")
    tris, normals = camera_space(scene, 2, 5)
    assert tris.shape == normals.shape == (3, scene.faces.shape[0], 3, 3)
    mv = scene.model_view[2:5].double().numpy()  # (3, P, 3, 4)
    part = scene.vertex_part.numpy()
    faces = scene.faces.numpy()
    v = scene.vertices.double().numpy()
    n = scene.normals.double().numpy()
    m = mv[:, part]  # (3, V, 3, 4)
    cam_v = np.einsum("fvij,vj->fvi", m[..., :3], v) + m[..., 3]
    cam_n = np.einsum("fvij,vj->fvi", m[..., :3], n)
    np.testing.assert_allclose(tris.numpy(), cam_v[:, faces], atol=1e-4)
    np.testing.assert_allclose(normals.numpy(), cam_n[:, faces], atol=1e-5)


def test_ground_depth_matches_the_ray_plane_intersection(spec):
    """Without objects, the bottom row sees the ground (y = 0): depth follows analytically."""
    video = render_video(dataclasses.replace(spec, objects=(), num_frames=1))
    k, ext = video.intrinsics, video.extrinsics[0]
    v, u = spec.height - 1, spec.width // 2
    ray = np.array([(u + 0.5 - k[0, 2]) / k[0, 0], (v + 0.5 - k[1, 2]) / k[1, 1], 1.0])
    rot, trans = ext[:3, :3], ext[:3, 3]
    origin, direction = -rot.T @ trans, rot.T @ ray
    depth = -origin[1] / direction[1]  # planar z along the camera axis, as ray z = 1
    assert 0 < depth < spec.camera.far
    assert video.depth[0, v, u] == pytest.approx(depth, rel=1e-4)


def test_pixel_rays_use_correctly_rounded_square_roots():
    """torch.sqrt on CPU goes through MKL's VML (not correctly rounded, CPU-dependent): the
    renderer uses rsqrt, an exact IEEE sqrt and division, on every path. Odd sizes cover both
    the vectorized body and the scalar tail."""
    intr = Intrinsics(fx=57.3, fy=57.3, cx=31.7, cy=17.1)
    rx, ry, inv_len = pixel_rays(intr, 67, 35, "cpu").numpy()
    expected = np.float32(1.0) / np.sqrt((rx * rx + ry * ry) + np.float32(1.0))
    assert np.array_equal(inv_len, expected)
