"""`settings.render.compile`: the torch.compile'd CPU kernels give the same bytes as eager."""

from __future__ import annotations

import dataclasses

import pytest

from lightpipe.render.renderer import RenderOptions

from asset_files import make_asset_root
from conftest import assert_same_renders, feature_specs, run_lightpipe, tiny_config, tree_hashes

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_asset_root(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module")
def specs(assets):
    return feature_specs(assets, count=4)


def test_compiled_kernels_render_the_same_bytes_as_eager(specs, assets):
    options = RenderOptions(asset_root=str(assets), shadows=True, ambient_occlusion=True,
                            antialias=3, segmentation=True, normals=True, motion_blur_samples=3,
                            native=False, flow=True, object_coordinates=True, objects=True)
    assert_same_renders(specs, options, dataclasses.replace(options, compile=True))


def test_predict_with_compile_writes_the_reference_dataset(reference, tmp_path):
    _, _, expected, _ = reference
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "out")
    run_lightpipe("predict", "--config", str(config), "--settings.render.compile", "true",
                  timeout=900)
    assert tree_hashes(tmp_path / "out") == expected


def test_compiled_flow_and_coordinates_are_the_eager_bits(specs, assets):
    """`motion`'s tensor functions compiled (the frame pass's depth and ids from eager)."""
    import numpy as np

    from lightpipe.render import motion
    from lightpipe.render.backend import COMPILED
    from lightpipe.render.renderer import render_video
    from lightpipe.render.shading import pixel_rays
    from lightpipe.render.zbuffer import Intrinsics

    for spec in specs[:2]:
        video = render_video(spec, options=RenderOptions(asset_root=str(assets), native=False,
                                                         flow=True, object_coordinates=True))
        k = video.intrinsics
        rays = pixel_rays(Intrinsics(k[0, 0], k[1, 1], k[0, 2], k[1, 2]), spec.width,
                          spec.height, "cpu")
        shape = video.depth.shape
        flow = (np.zeros((*shape, 2), np.float32), np.zeros(shape, np.uint8),
                np.zeros((*shape, 2), np.float32), np.zeros(shape, np.uint8))
        coordinates = np.zeros((*shape, 3), np.float32)
        motion.video_motion(COMPILED, spec, video.part_to_camera, video.part_bounds,
                            video.extrinsics, video.intrinsics, rays, video.depth,
                            video.segmentation.astype(np.int32), flow, coordinates)
        assert np.array_equal(flow[0], video.flow_forward)
        assert np.array_equal(flow[1], video.flow_forward_flags)
        assert np.array_equal(flow[2], video.flow_backward)
        assert np.array_equal(flow[3], video.flow_backward_flags)
        assert np.array_equal(coordinates, video.object_coordinates)
        assert (video.flow_forward_flags & motion.VISIBLE).any()
