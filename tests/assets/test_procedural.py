"""The built-in procedural meshes: ids, geometry, determinism."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from lightpipe.assets.builtin_ids import BUILTIN_MATERIAL_IDS, BUILTIN_OBJECT_IDS
from lightpipe.assets.materials import material_texture
from lightpipe.assets.procedural import Mesh, object_mesh

CONVEX_FAMILIES = {"box", "sphere", "cylinder", "cone", "superquadric", "capsule", "prism", "pyramid", "gem"}


def _family(asset_id: str) -> str:
    return asset_id.split(":", 1)[1].split("/", 1)[0]


def _face_cross(mesh: Mesh) -> np.ndarray:
    v = mesh.vertices.astype(np.float64)
    f = mesh.faces
    return np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])


def _mesh_digest(mesh: Mesh) -> str:
    h = hashlib.sha256()
    for a in (mesh.vertices, mesh.faces, mesh.normals, mesh.uvs):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# --- catalog ---------------------------------------------------------------------------------------------------


def test_catalog_counts_families_and_order():
    assert len(BUILTIN_OBJECT_IDS) >= 60
    assert len(BUILTIN_MATERIAL_IDS) >= 20
    for ids in (BUILTIN_OBJECT_IDS, BUILTIN_MATERIAL_IDS):
        assert isinstance(ids, tuple)
        assert list(ids) == sorted(set(ids)), "ids must be sorted and unique"
        assert all(re.fullmatch(r"builtin:[a-z_]+/\d{2}", i) for i in ids)
    assert len({_family(i) for i in BUILTIN_OBJECT_IDS}) >= 8
    assert len({_family(i) for i in BUILTIN_MATERIAL_IDS}) >= 6
    assert not set(BUILTIN_OBJECT_IDS) & set(BUILTIN_MATERIAL_IDS)


# --- meshes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("asset_id", BUILTIN_OBJECT_IDS)
def test_mesh_shapes_dtypes_and_indices(asset_id):
    m = object_mesh(asset_id)
    n_v = len(m.vertices)
    assert m.vertices.shape == (n_v, 3) and m.vertices.dtype == np.float32
    assert m.normals.shape == (n_v, 3) and m.normals.dtype == np.float32
    assert m.uvs.shape == (n_v, 2) and m.uvs.dtype == np.float32
    assert m.faces.ndim == 2 and m.faces.shape[1] == 3 and m.faces.dtype == np.int64
    assert 200 <= len(m.faces) <= 3000
    assert m.faces.min() >= 0 and m.faces.max() < n_v
    assert np.array_equal(np.unique(m.faces), np.arange(n_v)), "every vertex is used"
    assert np.all(np.isfinite(m.vertices)) and np.all(np.isfinite(m.normals)) and np.all(np.isfinite(m.uvs))
    assert m.uvs.min() >= 0.0 and m.uvs.max() <= 1.0


@pytest.mark.parametrize("asset_id", BUILTIN_OBJECT_IDS)
def test_mesh_normalized_to_unit_bounding_sphere(asset_id):
    v = object_mesh(asset_id).vertices.astype(np.float64)
    assert np.linalg.norm(v, axis=1).max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(0.5 * (v.min(0) + v.max(0)), 0.0, atol=1e-6)


@pytest.mark.parametrize("asset_id", BUILTIN_OBJECT_IDS)
def test_mesh_faces_non_degenerate_and_outward(asset_id):
    m = object_mesh(asset_id)
    cross = _face_cross(m)
    assert (0.5 * np.linalg.norm(cross, axis=1)).min() > 1e-7
    v = m.vertices.astype(np.float64)[m.faces]
    signed_volume = np.linalg.det(v).sum() / 6.0
    assert signed_volume > 0.05


@pytest.mark.parametrize("asset_id", [a for a in BUILTIN_OBJECT_IDS
                                      if _family(a) in CONVEX_FAMILIES])
def test_convex_meshes_face_outward(asset_id):
    m = object_mesh(asset_id)
    v = m.vertices.astype(np.float64)[m.faces]
    outward = np.einsum("ij,ij->i", _face_cross(m), v.mean(axis=1)) > 0
    assert outward.mean() > 0.95


@pytest.mark.parametrize("asset_id", BUILTIN_OBJECT_IDS)
def test_mesh_normals_unit_and_consistent_with_faces(asset_id):
    m = object_mesh(asset_id)
    np.testing.assert_allclose(np.linalg.norm(m.normals.astype(np.float64), axis=1), 1.0, atol=1e-5)
    cross = _face_cross(m)
    face_n = cross / np.linalg.norm(cross, axis=1, keepdims=True)
    for k in range(3):  # vertex normals stay close to the faces using them (cone apexes are not averaged)
        assert np.einsum("ij,ij->i", m.normals[m.faces[:, k]], face_n).min() > 0.75


@pytest.mark.parametrize("family", ["box", "prism", "pyramid", "gem"])
def test_flat_sided_families_have_per_face_normals(family):
    for asset_id in (i for i in BUILTIN_OBJECT_IDS if _family(i) == family):
        m = object_mesh(asset_id)
        cross = _face_cross(m)
        face_n = cross / np.linalg.norm(cross, axis=1, keepdims=True)
        for k in range(3):
            np.testing.assert_allclose(m.normals[m.faces[:, k]], face_n, atol=1e-4)


def test_smooth_families_share_normals_across_faces():
    for asset_id in (i for i in BUILTIN_OBJECT_IDS if _family(i) in {"sphere", "torus", "capsule"}):
        m = object_mesh(asset_id)
        # vertices duplicated at UV seams and poles carry one welded normal, so the shading shows no seam
        _, inv, counts = np.unique(m.vertices, axis=0, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
        assert counts.max() > 1, "seam vertices are expected on these shapes"
        welded = np.zeros((len(counts), 3))
        np.add.at(welded, inv, m.normals.astype(np.float64))
        np.testing.assert_allclose(m.normals, welded[inv] / counts[inv, None], atol=1e-6)


def test_mesh_cached_read_only_and_deterministic():
    ids = BUILTIN_OBJECT_IDS[::7]
    first = {i: object_mesh(i) for i in ids}
    assert all(object_mesh(i) is first[i] for i in ids)
    with pytest.raises(ValueError):
        first[ids[0]].vertices[0, 0] = 2.0
    object_mesh.cache_clear()
    for i in ids:
        again = object_mesh(i)
        assert again is not first[i]
        assert _mesh_digest(again) == _mesh_digest(first[i])


def test_variants_of_a_family_differ():
    by_family = itertools.groupby(BUILTIN_OBJECT_IDS, key=_family)
    for family, ids in by_family:
        digests = [_mesh_digest(object_mesh(i)) for i in ids]
        assert len(set(digests)) == len(digests), family


def test_meshes_and_textures_do_not_depend_on_hash_seed():
    ids = [BUILTIN_OBJECT_IDS[0], BUILTIN_OBJECT_IDS[-1], BUILTIN_OBJECT_IDS[len(BUILTIN_OBJECT_IDS) // 2]]
    code = (
        "import sys, hashlib, numpy as np\n"
        "from lightpipe.assets.procedural import object_mesh\n"
        "from lightpipe.assets.materials import material_texture\n"
        "for i in sys.argv[1:]:\n"
        "    m = object_mesh(i)\n"
        "    print(hashlib.sha256(b''.join(np.ascontiguousarray(a).tobytes() for a in\n"
        "        (m.vertices, m.faces, m.normals, m.uvs))).hexdigest())\n"
        f"print(hashlib.sha256(material_texture({BUILTIN_MATERIAL_IDS[0]!r}).tobytes()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run(
        [sys.executable, "-c", code, *ids], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    expected = [_mesh_digest(object_mesh(i)) for i in ids]
    expected.append(hashlib.sha256(material_texture(BUILTIN_MATERIAL_IDS[0]).tobytes()).hexdigest())
    assert out.stdout.split() == expected


@pytest.mark.parametrize("bad", ["builtin:nope/00", "builtin:box/99", "box/00", ""])
def test_unknown_object_id_raises_key_error(bad):
    with pytest.raises(KeyError, match=re.escape(repr(bad))) as info:
        object_mesh(bad)
    assert BUILTIN_OBJECT_IDS[0] in str(info.value)
