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
                            native=False)
    assert_same_renders(specs, options, dataclasses.replace(options, compile=True))


def test_predict_with_compile_writes_the_reference_dataset(reference, tmp_path):
    _, _, expected, _ = reference
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "out")
    run_lightpipe("predict", "--config", str(config), "--settings.render.compile", "true",
                  timeout=900)
    assert tree_hashes(tmp_path / "out") == expected
