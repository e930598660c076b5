"""`settings.render.compile`: the torch.compile'd CPU kernels give the same bytes as eager."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lightpipe.config.settings import AssetSettings, SceneSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render.renderer import RenderOptions, render_video

from asset_files import make_asset_root
from conftest import run_lightpipe, tiny_config, tree_hashes

pytestmark = pytest.mark.slow

OUTPUTS = ("color", "depth", "segmentation", "normals")


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return make_asset_root(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module")
def specs(assets):
    """Sky and HDR environments, PBR and built-in materials; one with motion blur and depth
    of field."""
    settings = Settings(num_videos=4, scene=SceneSettings(min_objects=3, max_objects=6),
                        video=VideoSettings(width=96, height=64, num_frames=5, fps=8),
                        assets=AssetSettings(root=str(assets), environment_probability=0.5))
    pools = asset_pools(11, settings)
    specs = [plan_video(11, settings, index, pools) for index in range(4)]
    specs[3] = dataclasses.replace(specs[3], camera=dataclasses.replace(
        specs[3].camera, shutter=0.5, f_number=1.0))
    assert {bool(s.environment.image_id) for s in specs} == {True, False}
    return specs


def test_compiled_kernels_render_the_same_bytes_as_eager(specs, assets):
    options = RenderOptions(asset_root=str(assets), shadows=True, ambient_occlusion=True,
                            antialias=3, segmentation=True, normals=True, motion_blur_samples=3)
    compiled = dataclasses.replace(options, compile=True)
    threads = torch.get_num_threads()
    try:
        for spec in specs:
            eager = render_video(spec, options=options, frames_per_chunk=2)
            torch.set_num_threads(2)
            fast = render_video(spec, options=compiled, frames_per_chunk=3)
            torch.set_num_threads(1)
            single = render_video(spec, options=compiled, frames_per_chunk=5)
            torch.set_num_threads(threads)
            for name in OUTPUTS:
                assert np.array_equal(getattr(eager, name), getattr(fast, name)), name
                assert np.array_equal(getattr(eager, name), getattr(single, name)), name
            assert eager.color.std() > 5 and (eager.segmentation > 1).any()  # a real scene
    finally:
        torch.set_num_threads(threads)


def test_predict_with_compile_writes_the_reference_dataset(reference, tmp_path):
    _, _, expected, _ = reference
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "out")
    run_lightpipe("predict", "--config", str(config), "--settings.render.compile", "true",
                  timeout=900)
    assert tree_hashes(tmp_path / "out") == expected
