"""Real HDRIs as they ship: the eight CC0 Poly Haven maps of Blender's `bpy` wheel, copied by
`make demo-assets`'s script, are each read (compression-noise negatives clamped) and light a
rendered video.

Runs only where Blender's Python is at hand: `.venv-bpy` (make bpy-venv) in the repository, or
the interpreter named by LIGHTPIPE_BPY_PYTHON. A map with a NaN is refused by name in
test_environment.py (generated maps; no Blender needed).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lightpipe.assets.catalog import build_catalog
from lightpipe.assets.environments import clamped_values, load_environment_image
from lightpipe.assets.loader import validate_catalog
from lightpipe.config.settings import AssetSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render.renderer import RenderOptions, render_video

REPO = Path(__file__).resolve().parents[2]
BPY_PYTHON = Path(os.environ.get("LIGHTPIPE_BPY_PYTHON", REPO / ".venv-bpy" / "bin" / "python"))
MAPS = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")

pytestmark = pytest.mark.skipif(
    not BPY_PYTHON.is_file(),
    reason=f"Blender's Python is not at {BPY_PYTHON} (make bpy-venv, or set LIGHTPIPE_BPY_PYTHON)")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """An asset root holding only the HDRIs, made by the demo-assets script."""
    out = tmp_path_factory.mktemp("demo_assets")
    subprocess.run([sys.executable, str(REPO / "scripts" / "demo_assets.py"), "--out", str(out),
                    "--bpy", str(BPY_PYTHON), "--environments-only"], check=True,
                   capture_output=True, timeout=120)
    return out


def test_the_eight_maps_are_copied_with_their_licence(root):
    assert sorted(path.stem for path in (root / "environments").iterdir()) == list(MAPS)
    assert "CC0" in (root / "LICENSES" / "blender-studiolights-world.txt").read_text()
    readme = (root / "README.md").read_text()
    assert "CC0" in readme and "Poly Haven" in readme and "objects/" not in readme


def test_every_map_passes_validation(root):
    """What predict checks before rendering: every map of the folder reads."""
    catalog = build_catalog(str(root), builtin=True)
    assert catalog.environments == tuple(f"user:environments/{name}.exr" for name in MAPS)
    validate_catalog(catalog)


def test_compression_noise_is_clamped_in_all_but_one_map(root):
    """Seven of the eight hold a few tiny negatives from DWAB compression; city has none."""
    clamped = {}
    for name in MAPS:
        path = str(root / "environments" / f"{name}.exr")
        image = load_environment_image(path)
        assert image.shape == (512, 1024, 3) and np.isfinite(image).all() and image.min() >= 0
        clamped[name] = clamped_values(path)
    assert clamped["city"] == 0 and all(clamped[name] > 0 for name in MAPS if name != "city")


def test_each_map_lights_a_rendered_video(root):
    """64x64, 3 frames under each map (as predict renders: the config's look); the maps give
    eight different pictures."""
    settings = Settings(num_videos=1, video=VideoSettings(64, 64, 3, 8),
                        assets=AssetSettings(root=str(root), environment_probability=1.0))
    spec = plan_video(0, settings, 0, asset_pools(0, settings))
    options = dataclasses.replace(RenderOptions.from_settings(settings), asset_root=str(root))
    means = {}
    for name in MAPS:
        environment = dataclasses.replace(spec.environment,
                                          image_id=f"user:environments/{name}.exr")
        video = render_video(dataclasses.replace(spec, environment=environment), options=options)
        assert video.color.shape == (3, 64, 64, 3)
        assert video.color.std() > 5  # a picture, not a flat frame
        means[name] = tuple(video.color.reshape(-1, 3).mean(0).round(1))
    assert len(set(means.values())) == len(MAPS), means
