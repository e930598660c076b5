"""Heavy user meshes within `settings.assets.max_triangles`: simplified once at load, textures in
place, deterministic across processes, cached on disk (a damaged entry recomputed), light meshes
untouched, meshes too heavy named, and the budget part of the identity."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lightpipe.assets import simplify
from lightpipe.assets.catalog import AssetError, build_catalog
from lightpipe.assets.loader import _load_user_object, load_object, validate_catalog
from lightpipe.config.settings import AssetSettings, ProjectSettings, Settings
from lightpipe.config.validation import validate_settings
from lightpipe.dataset.identity import dataset_identity
from lightpipe.errors import ConfigError

from asset_files import make_asset_root, write_textured_torus

SIDE = 160  # 51,200 triangles
BUDGET = 5_000
TORUS = "user:objects/torus.glb"


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path / "cache"))
    _load_user_object.cache_clear()
    write_textured_torus(tmp_path / "assets" / "objects" / "torus.glb", SIDE)
    yield tmp_path / "assets"
    _load_user_object.cache_clear()


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "meshes").glob("*.npz"))


def _digest(mesh) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in (
        mesh.vertices, mesh.faces, mesh.normals, mesh.uvs))).hexdigest()


def test_heavy_mesh_is_simplified_keeping_shape_and_texture(root):
    full = load_object(str(root), TORUS, 16, 0).mesh  # no budget: as loaded
    loaded = load_object(str(root), TORUS, 16, BUDGET)
    mesh = loaded.mesh
    assert len(full.faces) == 2 * SIDE * SIDE
    assert BUDGET // 2 <= len(mesh.faces) <= BUDGET
    assert mesh.faces.max() < len(mesh.vertices) and len(mesh.uvs) == len(mesh.vertices)
    np.testing.assert_allclose(mesh.vertices.min(0), full.vertices.min(0), atol=0.02)
    np.testing.assert_allclose(mesh.vertices.max(0), full.vertices.max(0), atol=0.02)
    np.testing.assert_allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-5)
    radius = np.sqrt((mesh.vertices.astype(np.float64) ** 2).sum(1)).max()
    assert radius == pytest.approx(1.0, abs=1e-6)  # a unit bounding sphere, as every mesh
    # Each vertex's texture colour is the one of where it is: u follows the angle about y.
    v = mesh.vertices.astype(np.float64)
    u = (np.arctan2(v[:, 2], v[:, 0]) / (2 * np.pi)) % 1.0
    inside = (np.abs(u - 0.5) > 0.05) & (u > 0.05) & (u < 0.95)
    albedo = loaded.maps.albedo
    texel = np.clip((mesh.uvs[inside] * albedo.shape[1]).astype(int), 0, albedo.shape[1] - 1)
    seen = albedo[texel[:, 1], texel[:, 0]]
    expected = np.where((u[inside] < 0.5)[:, None], 0, 1)
    red, green = albedo[0, 0], albedo[0, -1]
    assert (red[0] > red[1]) and (green[1] > green[0])  # the texture's red and green halves
    assert inside.sum() > len(v) // 2  # (the seams keep more vertices)
    assert np.array_equal(seen, np.where(expected == 0, red, green))


@pytest.mark.parametrize("kind", ["vertex", "face"])
def test_colours_stay_in_place(tmp_path, monkeypatch, kind):
    """Vertex colours (GLB) and face colours (PLY): red where x > 0, blue elsewhere."""
    import trimesh

    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path / "cache"))
    sphere = trimesh.creation.icosphere(subdivisions=6)  # 81,920 triangles
    red, blue = [230, 20, 20, 255], [20, 20, 230, 255]
    if kind == "vertex":
        sphere.visual.vertex_colors = np.where(sphere.vertices[:, :1] > 0, red, blue)
    else:
        sphere.visual.face_colors = np.where(sphere.triangles_center[:, :1] > 0, red, blue)
    path = tmp_path / "objects" / ("ball.glb" if kind == "vertex" else "ball.ply")
    path.parent.mkdir(parents=True)
    sphere.export(path)
    loaded = load_object(str(tmp_path), f"user:objects/{path.name}", 64, BUDGET)
    mesh, atlas = loaded.mesh, loaded.maps.albedo
    assert len(mesh.faces) <= BUDGET
    centre = mesh.vertices[mesh.faces].mean(axis=1)[:, 0]
    texel = np.clip((mesh.uvs[mesh.faces[:, 0]] * 64).astype(int), 0, 63)
    colour = atlas[texel[:, 1], texel[:, 0]].astype(int)
    assert (colour[centre > 0.25, 0] > colour[centre > 0.25, 2]).all()
    assert (colour[centre < -0.25, 2] > colour[centre < -0.25, 0]).all()


def test_light_meshes_are_untouched(root, tmp_path):
    unlimited = load_object(str(root), TORUS, 16, 0).mesh
    within = load_object(str(root), TORUS, 16, 2 * SIDE * SIDE).mesh
    assert _digest(unlimited) == _digest(within)
    assert _entries(tmp_path / "cache") == []  # nothing simplified, nothing cached
    make_asset_root(tmp_path / "small")  # the test library's meshes, far below the default
    for asset in ("ball.glb", "box/box.obj", "cube.ply", "can.stl"):
        a = load_object(str(tmp_path / "small"), f"user:objects/{asset}", 32)
        b = load_object(str(tmp_path / "small"), f"user:objects/{asset}", 32, 0)
        assert _digest(a.mesh) == _digest(b.mesh)


def test_simplification_is_the_same_in_every_process(root, tmp_path):
    script = ("import hashlib, numpy as np\n"
              "from lightpipe.assets.loader import load_object\n"
              f"m = load_object({str(root)!r}, {TORUS!r}, 16, {BUDGET}).mesh\n"
              "print(hashlib.sha256(b''.join(np.ascontiguousarray(a).tobytes() for a in\n"
              "      (m.vertices, m.faces, m.normals, m.uvs))).hexdigest())\n")
    repo = str(Path(simplify.__file__).parents[2])
    digests = []
    for run in range(2):  # each with its own, empty cache: both compute the simplification
        env = {**os.environ, "LIGHTPIPE_CACHE_DIR": str(tmp_path / f"cache{run}"),
               "PYTHONPATH": repo}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, timeout=120, check=True)
        digests.append(out.stdout.strip().splitlines()[-1])
        assert len(_entries(tmp_path / f"cache{run}")) == 1
    assert digests[0] == digests[1] == _digest(load_object(str(root), TORUS, 16, BUDGET).mesh)
    assert (_entries(tmp_path / "cache0")[0].read_bytes()
            == _entries(tmp_path / "cache1")[0].read_bytes())


def test_simplification_is_cached_and_a_damaged_entry_recomputed(root, tmp_path):
    first = load_object(str(root), TORUS, 16, BUDGET).mesh
    (entry,) = _entries(tmp_path / "cache")
    assert f"-{BUDGET}-v{simplify.SIMPLIFIER_VERSION}.npz" in entry.name
    with np.load(entry) as data:
        stored = {key: data[key] for key in data.files}
    assert np.array_equal(stored["faces"], first.faces)
    # The next load reads the entry: a valid one edited by hand shows up in the mesh.
    np.savez(entry, vertices=stored["vertices"] * [-1.0, 1.0, 1.0], faces=stored["faces"],
             source=stored["source"])
    _load_user_object.cache_clear()
    mirrored = load_object(str(root), TORUS, 16, BUDGET).mesh
    np.testing.assert_allclose(mirrored.vertices, first.vertices * [-1, 1, 1], atol=1e-6)
    # A damaged entry (truncated, garbage, out-of-range indices) is computed again and replaced.
    damaged = {"truncated": entry.read_bytes()[:100], "garbage": b"not an npz"}
    for name, content in damaged.items():
        entry.write_bytes(content)
        _load_user_object.cache_clear()
        assert _digest(load_object(str(root), TORUS, 16, BUDGET).mesh) == _digest(first), name
        with np.load(entry) as data:
            assert np.array_equal(data["faces"], stored["faces"])
    np.savez(entry, vertices=stored["vertices"], faces=stored["faces"] + 10**6,
             source=stored["source"])
    _load_user_object.cache_clear()
    assert _digest(load_object(str(root), TORUS, 16, BUDGET).mesh) == _digest(first)


def test_meshes_too_heavy_are_named_before_rendering(root, monkeypatch):
    catalog = build_catalog(str(root), builtin=False)
    monkeypatch.setattr(simplify, "MAX_SOURCE_TRIANGLES", 10_000)
    with pytest.raises(AssetError) as error:
        validate_catalog(catalog, max_triangles=BUDGET)
    text = str(error.value)
    assert "objects/torus.glb" in text and "51,200 triangles" in text
    monkeypatch.setattr(simplify, "MAX_SOURCE_TRIANGLES", 20_000_000)
    monkeypatch.setattr(simplify, "TOLERANCE", 0.1)  # no simplification can meet it
    _load_user_object.cache_clear()
    with pytest.raises(AssetError) as error:
        load_object(str(root), TORUS, 16, BUDGET)
    text = str(error.value)
    assert "torus.glb" in text and "51,200 triangles" in text
    assert "settings.assets.max_triangles" in text
    monkeypatch.setattr(simplify, "MAX_FILE_BYTES", 1000)
    with pytest.raises(AssetError, match=r"torus.glb' is .* MiB"):
        _load_user_object.__wrapped__(str(root / "objects" / "torus.glb"), 16, "+y", BUDGET)


def test_budget_is_validated_and_part_of_the_identity(root):
    project = ProjectSettings(seed=1, name="t")
    for bad in (-1, 50):
        with pytest.raises(ConfigError, match=r"settings\.assets\.max_triangles"):
            validate_settings(project, Settings(assets=AssetSettings(max_triangles=bad)))
    validate_settings(project, Settings(assets=AssetSettings(max_triangles=0)))
    identities = [json.dumps(dataset_identity(project, Settings(assets=AssetSettings(
        root=str(root), max_triangles=budget))), sort_keys=True)
        for budget in (BUDGET, 2 * BUDGET)]
    assert identities[0] != identities[1]
    # Built-in assets only: the budget changes nothing and stays out of the identity.
    builtin = dataset_identity(project, Settings())
    assert "max_triangles" not in builtin["settings"]["assets"]
