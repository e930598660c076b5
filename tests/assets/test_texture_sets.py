"""PBR texture sets: a folder of maps (Poly Haven, ambientCG naming) is one material, each map is
used, and both shading paths draw it with the same bits; bad sets are named before rendering."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
from PIL import Image

from lightpipe.assets.catalog import AssetError, build_catalog
from lightpipe.assets.families import material_family
from lightpipe.assets.loader import load_image, load_material, validate_catalog
from lightpipe.assets.materials import DEFAULT_ROUGHNESS
from lightpipe.assets.texture_names import map_name
from lightpipe.assets.texture_sets import SRGB_DECODE, occluded, texture_notes
from lightpipe.config.settings import CameraSettings, SceneSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Motion
from lightpipe.render import native
from lightpipe.render.camera_response import SRGB_TO_LINEAR
from lightpipe.render.renderer import RenderOptions, render_video

from asset_files import (
    SET_AO,
    SET_COLOR,
    SET_METAL,
    SET_NORMAL,
    SET_ROUGHNESS,
    write_image,
    write_texture_set,
)
from conftest import run_lightpipe, tiny_config

POLYHAVEN, AMBIENTCG = "user:textures/metal_plate_01", "user:textures/sets/Bricks059"


def srgb_encode(linear: float) -> float:
    return 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055


def darkened(color, ao: int) -> tuple[int, ...]:
    """The base colour times the occlusion in linear light, by the textbook formulas."""
    return tuple(int(np.floor(srgb_encode(SRGB_TO_LINEAR[c] * ao / 255) * 255 + 0.5))
                 for c in color)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    write_texture_set(root / "textures" / "metal_plate_01", "polyhaven")
    write_texture_set(root / "textures" / "sets" / "Bricks059", "ambientcg")
    write_image(root / "textures" / "plain" / "a.png", (10, 20, 30))
    write_image(root / "textures" / "plain" / "b.png", (40, 50, 60))
    return root


@pytest.mark.parametrize("name,kind", [
    ("brick_wall_001_diff_1k.jpg", "base_color"), ("brick_wall_001_nor_gl_1k.png", "normal_gl"),
    ("brick_wall_001_nor_dx_1k.png", "normal_dx"), ("brick_wall_001_arm_1k.jpg", "arm"),
    ("metal_plate_01_diff_1k.jpg", "base_color"), ("metal_plate_01_metal_1k.jpg", "metallic"),
    ("Bricks059_1K-JPG_Color.jpg", "base_color"), ("Bricks059_1K-JPG_NormalDX.jpg", "normal_dx"),
    ("Bricks059_1K-JPG_AmbientOcclusion.jpg", "ao"), ("Bricks059_1K-JPG_Opacity.jpg", "opacity"),
    ("T_Oak_Base_Color.png", "base_color"), ("oak_ORM.png", "arm"), ("normal.png", "normal_gl"),
    ("oak_normal_map.png", "normal_gl"), ("oak-Roughness-4K.PNG", "roughness"),
    ("Bricks059_1K-JPG.png", None), ("Bricks059.png", None), ("rusty_metal_02.png", None),
    ("purple.png", None),
])
def test_map_names(name, kind):
    assert (map_name(name).kind if map_name(name) else None) == kind


def test_a_polyhaven_set_is_one_material_using_each_map(root):
    catalog = build_catalog(str(root), builtin=True)
    assert catalog.materials[-4:] == (POLYHAVEN, "user:textures/plain/a.png",
                                 "user:textures/plain/b.png", AMBIENTCG)
    folder = "textures/metal_plate_01/metal_plate_01"
    # Base colour first; the DirectX normal (an OpenGL one is there) and the height map unread.
    assert catalog.asset_files(POLYHAVEN) == (f"{folder}_diff_1k.png", f"{folder}_nor_gl_1k.png",
                                              f"{folder}_arm_1k.png")
    maps = load_material(str(root), POLYHAVEN, 8)
    assert (maps.albedo == darkened(SET_COLOR, SET_AO)).all()  # ARM's R: occlusion
    assert (maps.albedo < SET_COLOR).all()
    assert (maps.roughness == np.float32(SET_ROUGHNESS / 255)).all()  # ARM's G
    assert (maps.metallic == np.float32(SET_METAL / 255)).all()  # ARM's B
    np.testing.assert_allclose(maps.normal, np.broadcast_to(SET_NORMAL, (8, 8, 3)), atol=0.01)
    assert not maps.albedo.flags.writeable and not maps.normal.flags.writeable


def test_an_ambientcg_set_is_one_material_using_each_map(root):
    catalog = build_catalog(str(root), builtin=True)
    stem = "textures/sets/Bricks059/Bricks059_1K-PNG"
    assert catalog.asset_files(AMBIENTCG) == tuple(
        f"{stem}_{m}.png" for m in ("Color", "Roughness", "Metalness", "NormalGL",
                                    "AmbientOcclusion"))
    maps = load_material(str(root), AMBIENTCG, 8)
    assert (maps.albedo == darkened(SET_COLOR, SET_AO)).all()
    assert (maps.roughness == np.float32(SET_ROUGHNESS / 255)).all()
    assert (maps.metallic == np.float32(SET_METAL / 255)).all()
    np.testing.assert_allclose(maps.normal, np.broadcast_to(SET_NORMAL, (8, 8, 3)), atol=0.01)
    # Both libraries' sets of one surface are the same material, bit for bit.
    other = load_material(str(root), POLYHAVEN, 8)
    for a, b in zip(dataclasses.astuple(maps), dataclasses.astuple(other)):
        assert np.array_equal(a, b)
    # Its preview and the .mtlx/.usda beside it are no problems; the preview is a note.
    notes = texture_notes(root)
    assert len(notes) == 1 and "Bricks059_1K-PNG.png" in notes[0] and "names no map" in notes[0]


def test_plain_folders_keep_one_material_per_image(root, tmp_path):
    catalog = build_catalog(str(root), builtin=True)
    assert catalog.asset_files("user:textures/plain/a.png") == ("textures/plain/a.png",)
    maps = load_material(str(root), "user:textures/plain/b.png", 8)
    assert (maps.albedo == (40, 50, 60)).all() and (maps.roughness == DEFAULT_ROUGHNESS).all()
    # Base colours only, or a lone roughness map: still single images (the latter noted).
    write_image(tmp_path / "textures" / "misc" / "red_diffuse.png", (200, 0, 0))
    write_image(tmp_path / "textures" / "misc" / "blue_diffuse.png", (0, 0, 200))
    write_image(tmp_path / "textures" / "lone" / "oak_rough.png", (90, 90, 90))
    write_image(tmp_path / "textures" / "stone_rough.png", (90, 90, 90))
    assert build_catalog(str(tmp_path), builtin=True).materials[-4:] == (
        "user:textures/lone/oak_rough.png", "user:textures/misc/blue_diffuse.png",
        "user:textures/misc/red_diffuse.png", "user:textures/stone_rough.png")
    notes = texture_notes(tmp_path)
    assert len(notes) == 2 and all("roughness map" in note for note in notes)


def test_dedicated_maps_win_over_arm_and_missing_maps_default(tmp_path):
    folder = write_texture_set(tmp_path / "textures" / "oak", "polyhaven", normals="none")
    Image.fromarray(np.full((4, 4), 230, np.uint8)).save(folder / "oak_rough_1k.png")
    maps = load_material(str(tmp_path), "user:textures/oak", 8)
    assert (maps.roughness == np.float32(230 / 255)).all()  # the dedicated map
    assert (maps.metallic == np.float32(SET_METAL / 255)).all()  # ARM's B: no dedicated map
    assert (maps.normal == (0, 0, 1)).all()
    # Base colour and a height map only: the defaults, and the colour as a single image has it.
    write_image(tmp_path / "textures" / "bare" / "bare_diff_1k.png", SET_COLOR, size=(20, 12))
    write_image(tmp_path / "textures" / "bare" / "bare_disp_1k.png", (128, 128, 128))
    bare = load_material(str(tmp_path), "user:textures/bare", 8)
    single = load_image(str(tmp_path / "textures" / "bare" / "bare_diff_1k.png"), (8, 8))
    assert np.array_equal(bare.albedo, single)
    assert (bare.roughness == DEFAULT_ROUGHNESS).all() and (bare.metallic == 0).all()
    assert (bare.normal == (0, 0, 1)).all()


def test_directx_and_opengl_normal_maps_of_one_surface_give_the_same_normals(tmp_path):
    """A bumpy (random) map, resized: the DirectX file is the OpenGL one with green flipped."""
    coded = np.random.default_rng(3).integers(0, 256, (21, 13, 3)).astype(np.uint8)
    coded[..., 2] = np.maximum(coded[..., 2], 140)
    dx = coded.copy()
    dx[..., 1] = 255 - dx[..., 1]
    for name, image in (("gl", coded), ("dx", dx)):
        folder = tmp_path / "textures" / name
        write_image(folder / "s_diff.png", SET_COLOR)
        Image.fromarray(image).save(folder / f"s_nor_{name}.png")
    gl_maps = load_material(str(tmp_path), "user:textures/gl", 16)
    dx_maps = load_material(str(tmp_path), "user:textures/dx", 16)
    assert np.array_equal(gl_maps.normal, dx_maps.normal)
    assert np.allclose(np.linalg.norm(gl_maps.normal, axis=-1), 1.0, atol=1e-5)
    assert gl_maps.normal[..., 1].std() > 0.1  # not flat


def test_occlusion_darkens_in_linear_light_with_the_renderers_table():
    assert np.array_equal(SRGB_DECODE, SRGB_TO_LINEAR)
    codes = np.arange(256, dtype=np.uint8).reshape(16, 16)
    colour = np.stack([codes, codes[::-1], codes.T], axis=-1)
    assert np.array_equal(occluded(colour, np.full((16, 16), 255, np.uint8)), colour)
    ao = np.random.default_rng(0).integers(0, 256, (16, 16)).astype(np.uint8)
    got = occluded(colour, ao).astype(int)
    expected = np.array([[darkened(colour[i, j], int(ao[i, j])) for j in range(16)]
                         for i in range(16)])
    assert np.abs(got - expected).max() <= 1 and (got == expected).mean() > 0.99
    assert (got <= colour).all()


def test_sixteen_bit_grey_maps_are_scaled_not_clipped(tmp_path):
    folder = tmp_path / "textures" / "deep"
    write_image(folder / "deep_Color.png", SET_COLOR)
    Image.fromarray(np.full((4, 4), 13107, np.uint16)).save(folder / "deep_Roughness.png")
    maps = load_material(str(tmp_path), "user:textures/deep", 4)
    assert (maps.roughness == np.float32(51 / 255)).all()


def test_the_family_comes_from_the_set_folders_name():
    assert material_family(POLYHAVEN) == "metal"
    assert material_family(AMBIENTCG) == "stone"
    assert material_family("user:textures/wood_floor_02") == "wood"


def test_every_map_is_part_of_the_identity(root, tmp_path):
    copy = tmp_path / "root"
    shutil.copytree(root, copy)
    catalog = build_catalog(str(copy), builtin=True)
    before = catalog.fingerprint()["user_files"]
    assert set(catalog.file_hashes(POLYHAVEN)) == set(catalog.asset_files(POLYHAVEN))
    arm = copy / "textures" / "metal_plate_01" / "metal_plate_01_arm_1k.png"
    Image.fromarray(np.full((16, 16, 3), (SET_AO, 90, SET_METAL), np.uint8)).save(arm)
    after = build_catalog(str(copy), builtin=True).fingerprint()["user_files"]
    assert after[POLYHAVEN] != before[POLYHAVEN] and after[AMBIENTCG] == before[AMBIENTCG]
    assert after["user:textures/plain/a.png"] == before["user:textures/plain/a.png"]


# ------------------------------------------------------------------------------------------------
# Bad sets: named before rendering, all together.


def bad_root(base):
    """Two resolutions of one set, a set without a base colour, and a good set."""
    two = write_texture_set(base / "textures" / "two", "polyhaven")
    shutil.copy(two / "two_diff_1k.png", two / "two_diff_2k.png")
    nobase = write_texture_set(base / "textures" / "nobase", "ambientcg")
    (nobase / "nobase_1K-PNG_Color.png").unlink()
    write_texture_set(base / "textures" / "good", "ambientcg")
    return base


def test_two_base_colours_and_a_missing_one_are_named_together(tmp_path):
    with pytest.raises(AssetError) as caught:
        build_catalog(str(bad_root(tmp_path)), builtin=True)
    message = str(caught.value)
    assert "the assets have 2 problems" in message
    assert ("textures/two' has 2 base-colour maps of 2 resolutions (1k, 2k): "
            "'two_diff_1k.png', 'two_diff_2k.png'; allowed: one map of each kind") in message
    assert "textures/nobase' has no base-colour map (missing map)" in message
    assert "roughness 'nobase_1K-PNG_Roughness.png'" in message and "*_Color" in message


def test_an_unreadable_map_is_named_by_validation(tmp_path):
    folder = write_texture_set(tmp_path / "textures" / "cracked", "ambientcg")
    (folder / "cracked_1K-PNG_Roughness.png").write_bytes(b"\x89PNG not really")
    (folder / "cracked_1K-PNG_NormalGL.png").write_bytes(b"")
    catalog = build_catalog(str(tmp_path), builtin=True)
    with pytest.raises(AssetError) as caught:
        validate_catalog(catalog)
    message = str(caught.value)
    assert "textures/cracked': roughness map 'cracked_1K-PNG_Roughness.png' cannot be read" \
        in message
    assert "OpenGL normal map 'cracked_1K-PNG_NormalGL.png' cannot be read" in message


@pytest.mark.e2e
def test_predict_names_bad_sets_and_writes_nothing(tmp_path):
    root = bad_root(tmp_path / "assets")
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", assets={"root": str(root)})
    proc = run_lightpipe("predict", "--config", str(config), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "two_diff_2k.png" in proc.stderr and "missing map" in proc.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------------------------
# Rendering: each map changes the picture the way it should, on both shading paths.

W, H = 96, 64


def sphere_spec(material_id: str):
    """A static sphere in `material_id` on a ground of it, lit from behind the camera."""
    settings = Settings(num_videos=1, video=VideoSettings(W, H, 2, 8),
                        scene=SceneSettings(dynamics="kinematic", min_objects=1, max_objects=1,
                                            motions=("static",)),
                        camera=CameraSettings(trajectories=("static",), shake_probability=0.0))
    spec = plan_video(11, settings, 0, asset_pools(11, settings))
    obj = dataclasses.replace(spec.objects[0], asset_id="builtin:sphere/00",
                              material_id=material_id, position=(0.0, 0.6, 0.0), scale=0.6,
                              rotation_deg=(0.0, 0.0, 0.0), spin_deg_s=(0.0, 0.0, 0.0),
                              motion=Motion.STATIC, tint=(1.0, 1.0, 1.0), roughness_scale=1.0,
                              metal=0.0)
    camera = dataclasses.replace(spec.camera, target=(0.0, 0.6, 0.0), distance=3.0, height=1.2,
                                 fov_y_deg=40.0, azimuth_deg=0.0)
    light = dataclasses.replace(spec.light, elevation_deg=25.0, azimuth_deg=10.0)
    ground = dataclasses.replace(spec.ground, material_id=material_id, tint=(1.0, 1.0, 1.0))
    return dataclasses.replace(spec, objects=(obj,), camera=camera, light=light, ground=ground)


@pytest.fixture(scope="module")
def looks(tmp_path_factory):
    """Sets that differ in one map each (not metal, so the highlight is the sun's)."""
    root = tmp_path_factory.mktemp("looks")
    variants = {"smooth": dict(roughness=25), "rough": dict(roughness=240),
                "flat": dict(normals="none"), "gl": dict(normals="gl"), "dx": dict(normals="dx")}
    for name, values in variants.items():
        values = {"roughness": 128, "metal": 0, "ao": 255, **values}
        write_texture_set(root / "textures" / f"{name}_look", "ambientcg", **values)
    return root


def render(root, folder: str, native_path: bool = True):
    options = RenderOptions(asset_root=str(root), segmentation=True, native=native_path)
    video = render_video(sphere_spec(f"user:textures/{folder}"), options=options)
    return video.color[0].astype(int), video.segmentation[0] == 2


def test_roughness_changes_the_highlight(looks):
    smooth, sphere = render(looks, "smooth_look")
    rough, _ = render(looks, "rough_look")
    brightness_smooth, brightness_rough = smooth.sum(-1)[sphere], rough.sum(-1)[sphere]
    assert brightness_smooth.max() > brightness_rough.max() + 60  # a sharp, bright highlight
    # ... concentrated: few pixels near the peak, where a rough surface spreads it.
    assert (brightness_smooth > brightness_smooth.max() - 60).mean() < \
        (brightness_rough > brightness_rough.max() - 60).mean()


def test_a_normal_map_changes_the_shading_and_both_conventions_agree(looks):
    flat, sphere = render(looks, "flat_look")
    gl, _ = render(looks, "gl_look")
    dx, _ = render(looks, "dx_look")
    assert np.abs(gl - flat)[sphere].mean() > 5
    assert np.array_equal(gl, dx)


@pytest.mark.skipif(not native.available(), reason="native kernels not built")
def test_a_set_renders_the_same_bytes_natively_and_eagerly(root):
    for name in ("metal_plate_01", "sets/Bricks059"):
        eager, _ = render(root, name, native_path=False)
        fast, _ = render(root, name, native_path=True)
        assert np.array_equal(eager, fast)


@pytest.mark.e2e
def test_predict_renders_sets_and_records_every_map(tmp_path):
    import json

    from asset_files import write_stl

    root = tmp_path / "assets"
    write_stl(root / "objects" / "can.stl")
    write_texture_set(root / "textures" / "metal_plate_01", "polyhaven")
    write_texture_set(root / "textures" / "Bricks059", "ambientcg")
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", num_videos=2,
                         video={"num_frames": 3}, assets={"root": str(root), "builtin": False})
    run_lightpipe("predict", "--config", str(config))
    dataset = json.loads((tmp_path / "out" / "dataset.json").read_text())
    per_file = dataset["asset_files"]  # every map the set reads, with its sha256
    assert len(per_file["user:textures/metal_plate_01"]) == 3
    assert len(per_file["user:textures/Bricks059"]) == 5
    spec = json.loads(next((tmp_path / "out").glob("*/0000.json")).read_text())["spec"]
    assert spec["ground"]["material_id"] in ("user:textures/metal_plate_01",
                                             "user:textures/Bricks059")
