"""benchmarks/real_assets.py: the generated texture sets are sets the loader reads, and their
normal maps follow the OpenGL convention (+y up the image)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from lightpipe.assets.texture_sets import texture_set_maps

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import real_assets  # noqa: E402


@pytest.mark.parametrize("name", sorted(real_assets.SET_SIZES))
def test_a_generated_set_is_one_texture_set(tmp_path, name):
    folder = tmp_path / "textures" / name
    real_assets.write_set(folder, name, 64)
    maps = texture_set_maps(str(folder), 32)
    assert maps.albedo.shape == (32, 32, 3)
    assert 0.1 < float(maps.roughness.min()) and float(maps.roughness.max()) < 1.0
    assert not np.allclose(maps.normal[..., :2], 0.0)  # the normal map was read, not flat
    assert float(maps.metallic.max()) == 0.0


def test_normal_map_tilts_against_the_slope_opengl():
    """Height rising to the right tilts the normal left (-x); height rising down the image
    (towards larger rows) tilts it up the image (+y, OpenGL)."""
    columns = np.tile(np.arange(8.0), (8, 1))
    right = real_assets.normal_map(columns, 1.0)[4, 4]
    assert right == pytest.approx([-1 / np.sqrt(2), 0.0, 1 / np.sqrt(2)])
    down = real_assets.normal_map(columns.T, 1.0)[4, 4]
    assert down == pytest.approx([0.0, 1 / np.sqrt(2), 1 / np.sqrt(2)])
