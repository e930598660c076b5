"""User assets: every format loads, normalized, with its appearance; broken files are named."""

from __future__ import annotations

import numpy as np
import pytest

from lightpipe.assets.catalog import AssetError, build_catalog
from lightpipe.assets.loader import load_material, load_object, validate_catalog
from lightpipe.assets.materials import DEFAULT_ROUGHNESS

from asset_files import (
    GREEN,
    PBR_ALBEDO,
    PBR_METALLIC,
    PBR_NORMAL,
    PBR_ROUGHNESS,
    RED,
    make_asset_root,
    write_image,
    write_pbr_glb,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_asset_root(tmp_path_factory.mktemp("assets"))


def test_catalog_ids_are_relative_paths(root):
    catalog = build_catalog(str(root), builtin=False)
    assert catalog.objects == ("user:objects/ball.glb", "user:objects/box/box.obj",
                               "user:objects/can.stl", "user:objects/cube.ply",
                               "user:objects/pbr.glb")
    assert catalog.materials == ("user:textures/purple.png", "user:textures/wood.jpg")
    assert catalog.backgrounds == ("user:backgrounds/sunset.png",)
    assert catalog.environments == ("user:environments/dusk.exr", "user:environments/noon.hdr")
    mixed = build_catalog(str(root), builtin=True)
    assert len(mixed.objects) == 72 + 5 and "builtin:box/00" in mixed.objects


@pytest.mark.parametrize("asset", ["ball.glb", "box/box.obj", "can.stl", "cube.ply"])
def test_each_format_loads_normalized(root, asset):
    loaded = load_object(str(root), f"user:objects/{asset}", 32)
    mesh = loaded.mesh
    assert mesh.faces.shape[1] == 3 and mesh.faces.max() < len(mesh.vertices)
    assert np.sqrt((mesh.vertices.astype(float) ** 2).sum(1)).max() == pytest.approx(1.0, abs=1e-6)
    centre = (mesh.vertices.min(0) + mesh.vertices.max(0)) / 2
    assert np.abs(centre).max() < 1e-6
    assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-4)
    assert mesh.uvs.shape == (len(mesh.vertices), 2)


def test_textures_and_colours_come_with_the_mesh(root):
    box = load_object(str(root), "user:objects/box/box.obj", 32)
    texels = {tuple(c) for c in box.maps.albedo.reshape(-1, 3)}
    assert RED in texels and GREEN in texels and not box.own_material
    ball = load_object(str(root), "user:objects/ball.glb", 32)
    assert tuple(ball.maps.albedo[0, 0]) == (40, 60, 230)
    cube = load_object(str(root), "user:objects/cube.ply", 32)
    assert tuple(cube.maps.albedo[0, 0]) == (250, 250, 20)
    can = load_object(str(root), "user:objects/can.stl", 32)
    assert can.maps is None  # untextured: the planned material is used


def test_a_pbr_glbs_own_textures_and_factors_are_used(tmp_path):
    write_pbr_glb(tmp_path / "objects" / "pbr.glb")
    loaded = load_object(str(tmp_path), "user:objects/pbr.glb", 16)
    assert loaded.own_material
    maps = loaded.maps
    centre = maps.albedo.shape[0] // 2  # at its own resolution (at most 16)
    assert tuple(maps.albedo[centre, centre]) == PBR_ALBEDO  # texture x base colour factor
    np.testing.assert_allclose(maps.roughness, PBR_ROUGHNESS, atol=1 / 255)  # G x factor
    np.testing.assert_allclose(maps.metallic, PBR_METALLIC, atol=1 / 255)  # B x factor
    np.testing.assert_allclose(maps.normal[centre, centre], PBR_NORMAL, atol=0.02)
    assert not maps.roughness.flags.writeable


def test_user_texture_is_resized_and_matte(root):
    maps = load_material(str(root), "user:textures/purple.png", 16)
    assert maps.albedo.shape == (16, 16, 3) and tuple(maps.albedo[3, 3]) == (120, 40, 160)
    assert (maps.roughness == DEFAULT_ROUGHNESS).all() and (maps.metallic == 0).all()


def test_broken_mesh_is_named(tmp_path):
    make_asset_root(tmp_path)
    (tmp_path / "objects" / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00garbage")
    catalog = build_catalog(str(tmp_path), builtin=True)
    with pytest.raises(AssetError, match=r"mesh '.*objects/broken.glb' cannot be loaded"):
        validate_catalog(catalog)


def test_broken_image_is_named(tmp_path):
    make_asset_root(tmp_path)
    (tmp_path / "backgrounds" / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(AssetError, match=r"image '.*backgrounds/bad.png' cannot be read"):
        validate_catalog(build_catalog(str(tmp_path), builtin=True))


def test_unsupported_file_is_named(tmp_path):
    make_asset_root(tmp_path)
    (tmp_path / "objects" / "chair.fbx").write_bytes(b"fbx")
    with pytest.raises(AssetError, match=r"unsupported asset file '.*objects/chair.fbx' \(.fbx\); "
                                         r"allowed in objects/: .obj, .glb, .gltf, .ply, .stl"):
        build_catalog(str(tmp_path), builtin=True)


def test_missing_root_and_empty_root_are_clear(tmp_path):
    with pytest.raises(AssetError, match=r"`settings.assets.root` is '.*nope', which is not a dir"):
        build_catalog(str(tmp_path / "nope"), builtin=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetError, match="holds no assets"):
        build_catalog(str(tmp_path / "empty"), builtin=True)


def test_without_builtin_a_root_needs_materials(tmp_path):
    write_image(tmp_path / "backgrounds" / "sky.png", (1, 2, 3))
    with pytest.raises(AssetError, match="no object assets"):
        build_catalog(str(tmp_path), builtin=False)
