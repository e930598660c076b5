"""A Google Scanned Objects-style library with an `assets.yaml` through `lightpipe predict`:
bad layouts and sidecars are refused before anything is written; a good one renders at metric
size, its labels in the JSON, the segmentation table and the export prompt."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from lightpipe.commands.dispatch import main

from asset_files import write_glb, write_gso_object
from conftest import run_lightpipe, tiny_config


def gso_library(root, sidecar: str):
    write_gso_object(root / "objects" / "mug", color=(20, 60, 230))
    write_gso_object(root / "objects" / "can", color=(230, 40, 30), half=(0.03, 0.03, 0.05))
    (root / "assets.yaml").write_text(sidecar)
    return root


@pytest.mark.parametrize("damage,named", [
    ("two meshes", "object folder 'objects/mug' holds 2 meshes ('meshes/extra.glb', "
                   "'meshes/model.obj'); allowed: exactly one"),
    ("unknown key", "'objects/mug': unknown key 'colour'; allowed: size, unit, up,"),
    ("negative size", "'objects/mug': `size` is -0.1; allowed: `metric` (as modelled) or a "
                      "positive number (largest dimension, metres)"),
])
def test_bad_library_is_named_before_anything_is_written(tmp_path, capsys, damage, named):
    sidecar = {"unknown key": "objects/mug: {colour: red}\n",
               "negative size": "objects/mug: {size: -0.1}\n"}.get(damage, "objects/*: {up: +z}\n")
    root = gso_library(tmp_path / "assets", sidecar)
    if damage == "two meshes":
        write_glb(root / "objects" / "mug" / "meshes" / "extra.glb")
    out = tmp_path / "out"
    config = tiny_config(tmp_path / "c.yaml", out, num_videos=2,
                         assets={"root": str(root), "builtin": False})
    assert main(["predict", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.e2e
def test_a_gso_library_renders_at_metric_size_with_its_labels(tmp_path):
    root = gso_library(tmp_path / "assets", "objects/*: {size: metric, up: +z}\n"
                                             "objects/mug: {category: coffee_mug}\n")
    out = tmp_path / "out"
    config = tiny_config(tmp_path / "c.yaml", out, num_videos=2, video={"num_frames": 2},
                         assets={"root": str(root), "builtin": False},
                         scene={"min_objects": 2, "max_objects": 2},
                         outputs=["color", "depth", "segmentation", "objects"],
                         dataset_split={"ensure_disjoint_assets": False})
    run_lightpipe("predict", "--config", str(config))
    for meta in [json.loads(p.read_text()) for p in sorted(out.glob("*/*.json"))]:
        spec, tracks, table = meta["spec"], meta["objects"]["objects"], meta["segmentation"]
        mugs = [str(k + 2) for k, o in enumerate(spec["objects"])
                if o["asset_id"] == "user:objects/mug/meshes/model.obj"]
        assert table.get("categories", {}) == {key: "coffee_mug" for key in mugs}
        for track, obj in zip(tracks, spec["objects"]):
            corners = np.array(track["box_3d"][0])
            size = sorted(np.linalg.norm(corners[b] - corners[0]) for b in (4, 2, 1))
            mug = obj["asset_id"].startswith("user:objects/mug/")
            assert size == pytest.approx([0.06, 0.08, 0.12] if mug else [0.06, 0.06, 0.1],
                                         rel=1e-6)
            assert track["category"] == ("coffee_mug" if mug else None)
    run_lightpipe("export", "--format", "diffsynth", "--root", str(out))
    prompts = [row[-1] for split in ("train", "val")
               for row in csv.reader((out / f"metadata_{split}.csv").read_text().splitlines()[1:])]
    assert any("coffee mug" in p for p in prompts), prompts
