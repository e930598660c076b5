"""The built-in procedural materials: base colour, roughness, metalness and normal maps."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from lightpipe.assets.builtin_ids import BUILTIN_MATERIAL_IDS, BUILTIN_OBJECT_IDS
from lightpipe.assets.materials import material_maps, material_texture, normals_from_height


@pytest.mark.parametrize("material_id", BUILTIN_MATERIAL_IDS)
def test_texture_shape_dtype_and_tileable(material_id):
    tex = material_texture(material_id)
    assert tex.shape == (128, 128, 3) and tex.dtype == np.uint8
    assert not tex.flags.writeable
    assert tex.std() > 5.0, "a pattern, not a flat colour"
    t = tex.astype(np.float64)
    for axis in (0, 1):
        inner = np.abs(np.diff(t, axis=axis)).mean(axis=(1, 2) if axis == 0 else (0, 2))
        first, last = np.take(t, 0, axis=axis), np.take(t, -1, axis=axis)
        seam = np.abs(first - last).mean()
        assert seam <= 1.1 * inner.max() + 2.0, f"seam along axis {axis}: {seam:.1f} vs {inner.max():.1f}"


def test_texture_sizes_cached_and_deterministic():
    mid = BUILTIN_MATERIAL_IDS[5]
    tex = material_texture(mid, 32)
    assert tex.shape == (32, 32, 3)
    assert material_texture(mid, 32) is tex
    material_maps.cache_clear()
    assert np.array_equal(material_texture(mid, 32), tex)
    with pytest.raises(ValueError):
        material_texture(mid, 1)


def test_distinct_materials_look_distinct():
    texs = {i: material_texture(i, 64).astype(np.float64) for i in BUILTIN_MATERIAL_IDS}
    for a, b in itertools.combinations(BUILTIN_MATERIAL_IDS, 2):
        diff = np.abs(texs[a] - texs[b]).mean()
        assert diff > 10.0, f"{a} and {b} differ by only {diff:.1f}"


@pytest.mark.parametrize("bad", ["builtin:nope/00", "builtin:checker/99", BUILTIN_OBJECT_IDS[0]])
def test_unknown_material_id_raises_key_error(bad):
    with pytest.raises(KeyError, match=re.escape(repr(bad))):
        material_texture(bad)


@pytest.mark.parametrize("material_id", BUILTIN_MATERIAL_IDS)
def test_maps_are_in_range_and_read_only(material_id):
    maps = material_maps(material_id, 64)
    assert maps.roughness.shape == maps.metallic.shape == (64, 64)
    assert maps.normal.shape == (64, 64, 3)
    assert 0.0 <= maps.roughness.min() and maps.roughness.max() <= 1.0
    assert 0.0 <= maps.metallic.min() and maps.metallic.max() <= 1.0
    np.testing.assert_allclose(np.linalg.norm(maps.normal, axis=-1), 1.0, atol=1e-5)
    assert (maps.normal[..., 2] > 0).all()  # every normal faces out of the surface
    for array in (maps.albedo, maps.roughness, maps.metallic, maps.normal):
        assert not array.flags.writeable


@pytest.mark.parametrize("family", ["bricks", "concrete", "fabric", "painted_metal", "tiles",
                                    "wood"])
def test_physical_families_have_relief_and_varied_roughness(family):
    maps = material_maps(f"builtin:{family}/00", 128)
    assert maps.normal[..., 2].min() < 0.995, "a height field gives the normal map relief"
    assert maps.roughness.std() > 0.01


def test_painted_metal_shows_bare_metal_where_worn():
    maps = material_maps("builtin:painted_metal/01", 128)
    bare = maps.metallic > 0.5
    assert 0.001 < bare.mean() < 0.5
    assert (maps.metallic[~bare] == 0).all()


def test_normals_from_height_face_up_the_slope():
    """A ramp rising to the right (+u) tilts the normal towards -x; rising down the image
    (+v) tilts it towards +y (the map's +y is up the image)."""
    u = np.tile(np.arange(16, dtype=np.float64), (16, 1))
    right = normals_from_height(u, 0.1)[4:12, 4:12]
    down = normals_from_height(u.T, 0.1)[4:12, 4:12]
    assert (right[..., 0] < 0).all() and np.allclose(right[..., 1], 0)
    assert (down[..., 1] > 0).all() and np.allclose(down[..., 0], 0)
