"""User assets and every output through the real CLI: same bytes for 1 vs 2 threads and 1 vs 3
processes (with HDR maps, texture sets at their own resolution and the environment ground); a
broken asset file is named before anything renders."""

from __future__ import annotations

import json

import pytest

from asset_files import make_asset_root
from conftest import run_lightpipe, tiny_config, tree_hashes

pytestmark = pytest.mark.e2e

ALL_OUTPUTS = "[color,depth,segmentation,normals]"


@pytest.fixture(scope="module")
def assets_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("assets_run")
    root = make_asset_root(base / "assets")
    config = tiny_config(base / "c.yaml", base / "out", num_videos=6,
                         assets={"root": str(root), "builtin": True,
                                 "environment_probability": 0.7},
                         scene={"ground": "environment", "environment_ground_probability": 0.7},
                         outputs=["color", "depth", "segmentation", "normals"])
    run_lightpipe("predict", "--config", str(config))
    return config, base, tree_hashes(base / "out")


def test_user_assets_and_extra_outputs_are_written(assets_run):
    config, base, hashes = assets_run
    assert {"train/0000_segmentation.mkv", "train/0000_normals.mkv"} <= set(hashes)
    dataset = json.loads((base / "out" / "dataset.json").read_text())
    user_files = dataset["config"]["assets"]["user_files"]
    assert "user:objects/ball.glb" in user_files and len(user_files) == 10
    specs = [json.loads(next((base / "out").glob(f"*/{i:04d}.json")).read_text())["spec"]
             for i in range(6)]
    used = {a for spec in specs for a in [spec["ground"]["material_id"],
                                          spec["environment"]["image_id"],
                                          spec["background"]["image_id"],
                                          *(o["asset_id"] for o in spec["objects"]),
                                          *(o["material_id"] for o in spec["objects"])]}
    assert any(a.startswith("user:") for a in used)
    domes = [spec["ground"].get("capture_height") for spec in specs]
    assert any(domes) and not all(domes)  # some videos stand on their map's ground


@pytest.mark.parametrize("variant", ["threads1", "processes3"])
def test_same_bytes_with_assets_and_all_outputs(assets_run, tmp_path, variant):
    config, _, hashes = assets_run
    out = tmp_path / "out"
    if variant == "threads1":
        run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                      env={"OMP_NUM_THREADS": "1"})
    else:
        run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                      "--trainer.devices", "3", "--trainer.strategy", "ddp")
    assert tree_hashes(out) == hashes


@pytest.mark.parametrize("broken,content", [
    ("objects/broken.obj", "v 0 0 0\nf 1 2 3\n"),
    ("environments/broken.hdr", "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 4 +X 8\nxx"),
])
def test_broken_asset_is_named_before_rendering(tmp_path, broken, content):
    root = make_asset_root(tmp_path / "assets")
    (root / broken).write_text(content)
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", assets={"root": str(root)})
    proc = run_lightpipe("predict", "--config", str(config), check=False)
    assert proc.returncode == 2
    assert broken in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
