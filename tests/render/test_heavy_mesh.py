"""A heavy user mesh through the renderer: the budget reaches the scene, and the memory bounds
(frames per chunk by (frame, face) pairs, annotation boxes by (frame, vertex) pairs) change no
byte."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lightpipe.assets.loader import _load_user_object
from lightpipe.config.settings import (
    AssetSettings,
    CameraSettings,
    DatasetSplit,
    SceneSettings,
    Settings,
    VideoSettings,
)
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render import annotations, renderer
from lightpipe.render.renderer import RenderOptions, chunk_frames, render_video
from lightpipe.render.scene import GROUND_CELLS, build_scene

from asset_files import write_textured_torus

SIDE = 120  # 28,800 triangles


@pytest.fixture(scope="module")
def heavy(tmp_path_factory):
    base = tmp_path_factory.mktemp("heavy")
    write_textured_torus(base / "assets" / "objects" / "torus.glb", SIDE)
    settings = Settings(num_videos=1, video=VideoSettings(64, 48, 5, 8),
                        dataset_split=DatasetSplit(train_ratio=1.0, ensure_disjoint_assets=False),
                        scene=SceneSettings(dynamics="kinematic", min_objects=1, max_objects=1),
                        camera=CameraSettings(shake_probability=0.0),
                        assets=AssetSettings(root=str(base / "assets"), builtin=False))
    spec = plan_video(4, settings, 0, asset_pools(4, settings))
    return spec, str(base / "assets")


def _render(spec, root, budget, **flags):
    options = RenderOptions(asset_root=root, max_triangles=budget, segmentation=True,
                            objects=True, shadows=True, antialias=2, **flags)
    return render_video(spec, frames_per_chunk=4, options=options)


def test_chunks_hold_fewer_frames_of_a_heavy_mesh():
    assert chunk_frames(4, 10_000) == 4
    assert chunk_frames(4, renderer.MAX_FACE_FRAMES // 2) == 2
    assert chunk_frames(4, 5_000_000) == 1


def test_memory_bounds_change_no_byte(heavy, monkeypatch, tmp_path):
    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path / "cache"))
    spec, root = heavy
    whole = _render(spec, root, 0)
    monkeypatch.setattr(renderer, "MAX_FACE_FRAMES", 1)  # one frame per chunk
    monkeypatch.setattr(annotations, "MAX_FRAME_POINTS", 1)  # one frame per block
    split = _render(spec, root, 0)
    for field in ("color", "depth", "segmentation"):
        assert np.array_equal(getattr(whole, field), getattr(split, field)), field
    assert (split.segmentation == 2).any()  # the torus is in view
    assert dataclasses.asdict(whole.objects) == dataclasses.asdict(split.objects)


def test_the_budget_reaches_the_rendered_scene(heavy, monkeypatch, tmp_path):
    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path / "cache"))
    _load_user_object.cache_clear()
    spec, root = heavy
    ground = 2 * GROUND_CELLS * GROUND_CELLS
    assert build_scene(spec, "cpu", root, max_triangles=0).faces.shape[0] == ground + 2 * SIDE**2
    light = build_scene(spec, "cpu", root, max_triangles=2_000).faces.shape[0] - ground
    assert 1_000 <= light <= 2_000
    full, simplified = _render(spec, root, 0), _render(spec, root, 2_000)
    shown = (full.segmentation == 2) & (simplified.segmentation == 2)
    assert shown.sum() > 0.9 * (full.segmentation == 2).sum()  # the same silhouette, nearly
    assert not np.array_equal(full.color, simplified.color)
