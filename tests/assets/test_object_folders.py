"""Object folders as libraries ship them (Google Scanned Objects, ShapeNet) are one asset each,
with every file in them; loose meshes bring the files they reference; broken layouts are named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lightpipe.assets.catalog import AssetError, build_catalog
from lightpipe.assets.categories import asset_category
from lightpipe.assets.loader import load_object

from asset_files import write_glb, write_gso_object, write_image, write_textured_obj

GSO_FILES = ("objects/mug/meshes/model.obj", "objects/mug/materials/textures/texture.png",
             "objects/mug/meshes/model.mtl", "objects/mug/metadata.pbtxt",
             "objects/mug/model.config", "objects/mug/model.sdf",
             "objects/mug/thumbnails/0.jpg")
SHAPENET = "objects/03001627/1a2b/models/model_normalized.obj"


def write_shapenet_model(folder):
    """ShapeNet v2's layout: models/model_normalized.obj + .mtl (map ../images/texture0.jpg),
    .json and .binvox beside it, the texture under images/."""
    write_textured_obj(folder / "models")
    (folder / "models" / "box.obj").rename(folder / "models" / "model_normalized.obj")
    obj = folder / "models" / "model_normalized.obj"
    obj.write_text(obj.read_text().replace("mtllib box.mtl", "mtllib model_normalized.mtl"))
    (folder / "models" / "box.mtl").unlink()
    (folder / "models" / "box.png").rename(folder / "models" / "unused.png")
    write_image(folder / "images" / "texture0.jpg", (200, 200, 20), size=(8, 8))
    (folder / "models" / "model_normalized.mtl").write_text(
        "newmtl skin\nKd 1 1 1\nmap_Kd ../images/texture0.jpg\n")
    (folder / "models" / "model_normalized.json").write_text(json.dumps({"max": [1, 1, 1]}))
    (folder / "models" / "model_normalized.solid.binvox").write_bytes(b"#binvox 1\n")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    write_gso_object(root / "objects" / "mug")
    write_shapenet_model(root / "objects" / "03001627" / "1a2b")
    write_textured_obj(root / "objects" / "box")  # loose: box.obj, box.mtl, box.png
    write_glb(root / "objects" / "ball.glb")
    return root


def test_an_object_folder_is_one_asset_named_by_its_mesh_with_every_file(library):
    catalog = build_catalog(str(library), builtin=False)
    assert catalog.objects == ("user:objects/03001627/1a2b/models/model_normalized.obj",
                               "user:objects/ball.glb", "user:objects/box/box.obj",
                               "user:objects/mug/meshes/model.obj")
    assert catalog.files["user:objects/mug/meshes/model.obj"] == GSO_FILES
    shapenet = catalog.files["user:" + SHAPENET]
    assert shapenet[0] == SHAPENET and set(shapenet) == {
        SHAPENET, "objects/03001627/1a2b/images/texture0.jpg",
        "objects/03001627/1a2b/models/model_normalized.mtl",
        "objects/03001627/1a2b/models/model_normalized.json",
        "objects/03001627/1a2b/models/model_normalized.solid.binvox",
        "objects/03001627/1a2b/models/unused.png"}
    # Loose meshes: the files they reference (OBJ: its mtllib and that one's maps).
    assert catalog.files["user:objects/box/box.obj"] == (
        "objects/box/box.obj", "objects/box/box.mtl", "objects/box/box.png")
    assert catalog.files["user:objects/ball.glb"] == ("objects/ball.glb",)


def test_the_texture_in_a_sibling_folder_is_used(library):
    """GSO's MTL names ../materials/textures/texture.png: trimesh refuses paths that leave the
    mesh's folder unless told; the loader allows them (the catalogue keeps them in the root)."""
    mug = load_object(str(library), "user:objects/mug/meshes/model.obj", 16)
    assert {tuple(c) for c in mug.maps.albedo.reshape(-1, 3)} == {(20, 60, 230)}
    chair = load_object(str(library), "user:" + SHAPENET, 16)
    assert np.abs(chair.maps.albedo.astype(int) - (200, 200, 20)).max() <= 3  # a JPEG


def test_categories_of_library_layouts(library):
    assert asset_category("user:objects/mug/meshes/model.obj") is None  # the folder is its name
    assert asset_category("user:" + SHAPENET) == "03001627"  # the synset folder
    assert asset_category("user:objects/box/box.obj") == "box"
    assert asset_category("user:objects/ball.glb") is None
    assert asset_category("user:objects/gso/mug/meshes/model.obj") == "gso"


def test_a_gltf_brings_its_buffers_and_images(tmp_path):
    import trimesh

    folder = tmp_path / "objects" / "lamp"
    folder.mkdir(parents=True)
    trimesh.creation.box().export(folder / "lamp.gltf")
    document = json.loads((folder / "lamp.gltf").read_text())
    buffers = [b["uri"] for b in document["buffers"]]
    assert buffers and not any(uri.startswith("data:") for uri in buffers)
    catalog = build_catalog(str(tmp_path), builtin=False)
    assert catalog.files["user:objects/lamp/lamp.gltf"] == (
        "objects/lamp/lamp.gltf", *[f"objects/lamp/{uri}" for uri in buffers])
    (folder / buffers[0]).unlink()
    with pytest.raises(AssetError) as error:
        build_catalog(str(tmp_path), builtin=False)
    assert (f"'objects/lamp/lamp.gltf' refers to the buffer {buffers[0]!r}, but "
            f"'objects/lamp/{buffers[0]}' does not exist") in str(error.value)


def test_any_file_type_may_sit_in_an_object_folder_but_not_loose(tmp_path):
    write_gso_object(tmp_path / "objects" / "mug")
    (tmp_path / "objects" / "mug" / "notes.xyz").write_text("scan notes")
    assert build_catalog(str(tmp_path), builtin=False).files[
        "user:objects/mug/meshes/model.obj"][-1] == "objects/mug/thumbnails/0.jpg"
    (tmp_path / "objects" / "stray.xyz").write_text("?")
    with pytest.raises(AssetError, match=r"unsupported asset file .*stray\.xyz"):
        build_catalog(str(tmp_path), builtin=False)


def test_a_referenced_texture_of_any_type_is_a_companion(tmp_path):
    write_textured_obj(tmp_path / "objects" / "box")
    box = tmp_path / "objects" / "box"
    (box / "box.png").rename(box / "box.tga.png")
    (box / "skin.tga").write_bytes(b"tga")
    (box / "box.mtl").write_text("newmtl skin\nKd 1 1 1\nmap_Kd box.tga.png\n"
                                 "map_bump -bm 0.5 skin.tga\n")
    assert build_catalog(str(tmp_path), builtin=False).files["user:objects/box/box.obj"] == (
        "objects/box/box.obj", "objects/box/box.mtl", "objects/box/box.tga.png",
        "objects/box/skin.tga")


def test_two_meshes_in_an_object_folder_and_missing_references_are_named_together(tmp_path):
    write_gso_object(tmp_path / "objects" / "mug")
    write_glb(tmp_path / "objects" / "mug" / "meshes" / "extra.glb")
    write_textured_obj(tmp_path / "objects" / "box")
    (tmp_path / "objects" / "box" / "box.png").unlink()
    write_textured_obj(tmp_path / "objects" / "crate")
    (tmp_path / "objects" / "crate" / "box.mtl").unlink()
    (tmp_path / "objects" / "empty" / "models").mkdir(parents=True)
    (tmp_path / "objects" / "empty" / "models" / "readme.txt").write_text("no mesh")
    with pytest.raises(AssetError) as error:
        build_catalog(str(tmp_path), builtin=False)
    text = str(error.value)
    assert "the assets have 4 problems" in text
    assert ("object folder 'objects/mug' holds 2 meshes ('meshes/extra.glb', "
            "'meshes/model.obj'); allowed: exactly one") in text
    assert "object folder 'objects/empty' holds 0 meshes; allowed: exactly one" in text
    assert ("'objects/box/box.mtl' refers to the texture 'box.png', but 'objects/box/box.png' "
            "does not exist") in text
    assert ("'objects/crate/box.obj' refers to the material library 'box.mtl', but "
            "'objects/crate/box.mtl' does not exist") in text


def test_a_reference_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    write_textured_obj(root / "objects" / "box")
    write_image(tmp_path / "outside.png", (1, 2, 3))
    (root / "objects" / "box" / "box.mtl").write_text("newmtl skin\nmap_Kd ../../../outside.png\n")
    with pytest.raises(AssetError, match=r"refers to the texture '\.\./\.\./\.\./outside\.png', "
                                         r"which lies outside the assets root"):
        build_catalog(str(root), builtin=False)


def test_loose_obj_ids_and_appearance_are_unchanged(tmp_path):
    """A loose OBJ keeps its id and loads as before (same vertices bit for bit)."""
    write_textured_obj(tmp_path / "objects" / "box")
    loaded = load_object(str(tmp_path), "user:objects/box/box.obj", 16)
    vertices = loaded.mesh.vertices.astype(np.float64)
    assert np.sqrt((vertices ** 2).sum(1)).max() == pytest.approx(1.0)
    assert loaded.radius == pytest.approx(np.sqrt(2 ** 2 + 0.5 ** 2 + 1))
    assert loaded.largest == pytest.approx(4.0)
