"""Collision shapes and mass properties: hulls, the refusal of flat meshes, CoACD's cached
decomposition, and the material families that give friction, restitution and density."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lightpipe.assets.families import material_family
from lightpipe.physics import shapes
from lightpipe.physics.shapes import CollisionShapeError, collision_pieces, mass_properties

CUBE = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))


def test_a_box_has_its_analytic_volume_centre_and_inertia():
    box = CUBE * [1.0, 2.0, 3.0] + [0.5, 0.0, 0.0]  # 2 x 4 x 6, centred at (0.5, 0, 0)
    volume, centre, inertia = mass_properties((box,), 0.5)  # scaled to 1 x 2 x 3
    assert volume == pytest.approx(6.0)
    np.testing.assert_allclose(centre, [0.25, 0.0, 0.0], atol=1e-12)
    mass = volume  # unit density
    expected = mass / 12.0 * np.diag([2**2 + 3**2, 1**2 + 3**2, 1**2 + 2**2])
    np.testing.assert_allclose(inertia, expected, atol=1e-9)


def test_the_hull_holds_only_the_outer_vertices():
    points = np.concatenate([CUBE, 0.3 * CUBE])  # an inner cube: not on the hull
    (piece,) = collision_pieces(points, np.zeros((0, 3), dtype=np.int64), "hull", "two cubes")
    assert sorted(map(tuple, piece)) == sorted(map(tuple, CUBE))


def test_a_flat_mesh_is_refused_naming_its_file():
    square = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    with pytest.raises(CollisionShapeError, match="'objects/flat.obj': no collision shape"):
        collision_pieces(square, np.array([[0, 1, 2], [0, 2, 3]]), "hull", "objects/flat.obj")


def l_prism() -> tuple[np.ndarray, np.ndarray]:
    """A closed L-shaped prism (concave): the L (2 x 2 with a 1 x 1 notch) extruded by 1."""
    outline = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]
    vertices = np.array([(x, y, z) for z in (0.0, 1.0) for x, y in outline], dtype=np.float64)
    caps = [(0, 1, 2), (0, 2, 3), (0, 3, 4), (0, 4, 5)]  # fan from the L's corner, convex parts
    faces = [(a, c, b) for a, b, c in caps] + [(a + 6, b + 6, c + 6) for a, b, c in caps]
    for i in range(6):
        j = (i + 1) % 6
        faces += [(i, j, j + 6), (i, j + 6, i + 6)]
    return vertices - 1.0, np.array(faces, dtype=np.int64)


def test_a_concave_mesh_decomposes_into_convex_pieces_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(shapes, "_PIECES", {})
    vertices, faces = l_prism()
    pieces = collision_pieces(vertices, faces, "decomposition", "l.obj")
    assert len(pieces) > 1
    assert len(list((tmp_path / "collision").glob("*.npz"))) == 1
    hull_volume = mass_properties(collision_pieces(vertices, faces, "hull", "l.obj"), 1.0)[0]
    assert hull_volume == pytest.approx(3.5)  # the notch's diagonal half is inside the hull
    assert mass_properties(pieces, 1.0)[0] == pytest.approx(3.0, rel=0.05)  # the L's volume
    monkeypatch.setattr(shapes, "_PIECES", {})
    again = collision_pieces(vertices, faces, "decomposition", "l.obj")  # read from disk
    assert len(again) == len(pieces)
    assert all(np.array_equal(a, b) for a, b in zip(again, pieces))


def test_materials_map_to_physical_families():
    assert material_family("builtin:painted_metal/00") == "metal"
    assert material_family("builtin:wood/01") == "wood"
    assert material_family("builtin:marble/02") == "stone"
    assert material_family("builtin:checker/00") == "plastic"
    assert material_family("builtin:checker/00", metal=1.0) == "metal"
    assert material_family("user:textures/OakPlanks_2k.png") == "wood"
    assert material_family("user:textures/brushed_steel.jpg") == "metal"
    assert material_family("user:textures/whatever.png") == "plastic"
