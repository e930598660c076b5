"""The native C kernels (the default on CPU) give the same bits as the eager PyTorch reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lightpipe.dataset.depth_codes import inverse_depth_gray, quantize_metric
from lightpipe.dataset.native_depth_codes import NativeDepthCodes
from lightpipe.render import native, renderer
from lightpipe.render.backend import EAGER, NATIVE
from lightpipe.render.lighting import video_lighting
from lightpipe.render.occlusion import frame_inverse_depth, occlusion_parameters
from lightpipe.render.renderer import RenderOptions, camera_space, render_video
from lightpipe.render.scene import build_scene
from lightpipe.render.shading import surface_planes
from lightpipe.render.shadows import ShadowCaster
from lightpipe.render.zbuffer import Intrinsics

from asset_files import make_asset_root
from conftest import assert_same_renders, feature_specs, run_lightpipe, tiny_config, tree_hashes

pytestmark = pytest.mark.skipif(not native.available(), reason="native kernels not built")

@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_asset_root(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module")
def specs(assets):
    specs = feature_specs(assets)
    assert {bool(s.background.image_id) for s in specs} == {True, False}
    return specs


@pytest.fixture(params=native.runnable_variants())
def variant(request):
    """Each instruction-set build of the kernels this CPU runs (baseline, AVX2, AVX-512)."""
    native.use_variant(request.param)
    yield request.param
    native.use_variant(None)


def test_every_kernel_build_renders_the_same_bytes_as_eager(specs, assets, variant):
    options = RenderOptions(asset_root=str(assets), shadows=True, ambient_occlusion=True,
                            antialias=3, segmentation=True, normals=True, motion_blur_samples=3,
                            native=False, flow=True, object_coordinates=True, objects=True)
    assert_same_renders(specs, options, dataclasses.replace(options, native=True))


def test_plain_look_is_the_same_bytes_too(specs, assets):
    """No shadows, no occlusion, no anti-aliasing: the kernels' other variants."""
    options = RenderOptions(asset_root=str(assets), native=False)
    for spec in specs[:3]:
        eager = render_video(spec, options=options)
        fast = render_video(spec, options=dataclasses.replace(options, native=True))
        assert np.array_equal(eager.color, fast.color) and np.array_equal(eager.depth, fast.depth)


@pytest.fixture(scope="module")
def frame(specs, assets):
    """One frame's shading inputs (the renderer's own objects), with shadows and occlusion."""
    spec = next(s for s in specs if s.objects and not s.background.image_id)
    lighting = video_lighting(spec, str(assets))
    scene = build_scene(spec, "cpu", str(assets), lighting.sun_direction)
    k = scene.intrinsics
    intr = Intrinsics(fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]), cy=float(k[1, 2]))
    tris, normals = camera_space(scene, 0, 1, NATIVE)
    keys = EAGER.fill_zbuffer(tris, intr, spec.width, spec.height, spec.camera.near, 1 << 20)
    planes = surface_planes(tris, normals, scene.face_uv, scene.face_info,
                            scene.face_texture_size, True)
    caster = ShadowCaster.create(spec, scene, "cpu", lighting.sun_direction,
                                 lighting.sun_radius_deg)
    maps = caster.maps(tris, 0, 1, spec.camera.near, 1 << 20, EAGER)
    video = renderer._VideoShading.create(spec, scene, lighting, str(assets), "cpu", NATIVE,
                                          intr)
    occlusion = (frame_inverse_depth(keys[0].view(-1)),
                 occlusion_parameters(intr, spec.width, spec.height, "cpu"))
    return video.frame(0, planes[0], caster.lookup(maps[0], 0), occlusion), keys[0].view(-1), spec


def test_shading_radiance_is_bit_identical_at_random_rays(frame, variant):
    """The float radiance itself (not only its 8-bit codes): every face, random sub-pixel rays
    anywhere on the image, including rays that miss the face's triangle."""
    shading, _, spec = frame
    generator = torch.Generator().manual_seed(0)
    faces = torch.arange(shading.planes.shape[0]).repeat(4)
    rx = (torch.rand(faces.numel(), generator=generator) - 0.5) * 2.0
    ry = (torch.rand(faces.numel(), generator=generator) - 0.5) * 1.5
    rays = torch.stack([rx, ry, torch.rsqrt((rx * rx + ry * ry) + 1.0)])
    eager = shading.faces(faces, rays)[0]
    fast = shading.native.shade_samples(faces, rx, ry, None, spec.width * spec.height)
    both = torch.isfinite(eager)
    assert both.float().mean() > 0.99
    assert torch.equal(eager.view(torch.int32), fast.view(torch.int32))


def test_backdrop_of_missing_samples_is_the_environment(frame):
    shading, _, spec = frame
    rx = torch.linspace(-1.5, 1.5, 1000)
    ry = torch.linspace(1.0, -1.0, 1000)
    missing = torch.full((1000,), -1, dtype=torch.int64)
    eager = shading.backdrop_along(torch.stack([rx, ry, torch.ones_like(rx)]), None, None)
    fast = shading.native.shade_samples(missing, rx, ry, None, spec.width * spec.height)
    assert torch.equal(eager.view(torch.int32), fast.view(torch.int32))


def test_a_non_finite_position_fails_the_video_instead_of_reading_out_of_bounds(frame):
    """The reference's gathers raise on a NaN index; the native kernels raise too (they never
    read outside their tables)."""
    shading, _, spec = frame
    broken = shading.planes.clone()
    broken[:, 0:3] = float("nan")  # every face's ray plane: NaN depth, NaN coordinates
    bad = dataclasses.replace(shading, planes=broken)
    faces = torch.zeros(64, dtype=torch.int64)
    rx, ry = torch.zeros(64), torch.zeros(64)
    with pytest.raises(RuntimeError):
        bad.faces(faces, torch.stack([rx, ry, torch.ones(64)]))
    with pytest.raises(RuntimeError, match="out of range"):
        bad.native.shade_samples(faces, rx, ry, None, spec.width * spec.height)


def test_zbuffer_fill_matches_the_reference_rasterizer(specs, assets, variant):
    spec = specs[0]
    scene = build_scene(spec, "cpu", str(assets), (0.0, 1.0, 0.0))
    k = scene.intrinsics
    intr = Intrinsics(fx=float(k[0, 0]), fy=float(k[1, 1]), cx=float(k[0, 2]), cy=float(k[1, 2]))
    tris, _ = camera_space(scene, 0, spec.num_frames)
    eager = EAGER.fill_zbuffer(tris, intr, spec.width, spec.height, spec.camera.near, 1 << 12)
    fast = NATIVE.fill_zbuffer(tris, intr, spec.width, spec.height, spec.camera.near, 1 << 12)
    assert torch.equal(eager, fast) and (eager >= 0).float().mean() > 0.3


@pytest.mark.parametrize("per_frame", [False, True])
def test_depth_codes_match_the_numpy_definition(per_frame, variant):
    generator = np.random.default_rng(0)
    depth = generator.uniform(0.2, 90.0, size=(5, 47, 63)).astype(np.float32)  # odd: tails
    depth[generator.random(depth.shape) < 0.3] = 0.0
    depth[2] = 0.0  # a frame with no surface at all
    codes, metric = quantize_metric(depth)
    gray, vis = inverse_depth_gray(depth, per_frame=per_frame)
    fast_codes, fast_metric = quantize_metric(depth, fast=NativeDepthCodes)
    fast_gray, fast_vis = inverse_depth_gray(depth, per_frame=per_frame, fast=NativeDepthCodes)
    assert np.array_equal(codes, fast_codes) and metric == fast_metric
    assert np.array_equal(gray, fast_gray) and vis == fast_vis
    empty = np.zeros((2, 4, 4), np.float32)
    assert quantize_metric(empty, fast=NativeDepthCodes)[1] == quantize_metric(empty)[1]


@pytest.mark.e2e
def test_predict_without_native_kernels_writes_the_reference_dataset(reference, tmp_path):
    """`LIGHTPIPE_NATIVE=0` (or a build without a C compiler) runs the eager reference: the same
    dataset as the default (native) run."""
    _, _, expected, _ = reference
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "out")
    run_lightpipe("predict", "--config", str(config), env={"LIGHTPIPE_NATIVE": "0"})
    assert tree_hashes(tmp_path / "out") == expected
