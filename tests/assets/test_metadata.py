"""`assets.yaml`: per-object metadata (size, up axis, category, physical properties) reaches
the loader, the planner, the annotations, the segmentation table, the prompt and the
simulation; bad entries are named with the key, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import math
from itertools import combinations

import numpy as np
import pytest

from lightpipe.assets.catalog import AssetError, build_catalog
from lightpipe.assets.categories import asset_category
from lightpipe.assets.loader import load_object
from lightpipe.assets.metadata import ObjectMetadata, object_metadata
from lightpipe.assets.object_size import declared_radius, object_extent
from lightpipe.commands.export import prompt_for
from lightpipe.config.settings import (
    AssetSettings,
    CameraSettings,
    SceneSettings,
    Settings,
    VideoSettings,
)
from lightpipe.dataset.outputs.labels import SegmentationMeta
from lightpipe.physics.simulation import simulate_video
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render.annotations import object_annotations
from lightpipe.render.renderer import RenderOptions, render_video

from asset_files import write_glb, write_gso_object

MUG = "user:objects/mug/meshes/model.obj"
CAN = "user:objects/can/meshes/model.obj"
BALL = "user:objects/toys/ball.glb"
MUG_SIZE = (0.08, 0.12, 0.06)  # x, y (up), z in metres once its +z up is turned to +y
SIDECAR = """\
objects/*: {size: metric, up: +z, density: 500}
objects/mug: {category: coffee_mug, mass: 0.35, friction: 0.6}
objects/toys/*.glb: {size: 0.5, category: ball, restitution: 0.9}
"""


def library(root, sidecar: str | None = SIDECAR):
    write_gso_object(root / "objects" / "mug", color=(20, 60, 230))
    write_gso_object(root / "objects" / "can", color=(230, 40, 30), half=(0.03, 0.03, 0.05))
    write_glb(root / "objects" / "toys" / "ball.glb")  # radius 3 as modelled
    if sidecar is not None:
        (root / "assets.yaml").write_text(sidecar)
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return library(tmp_path_factory.mktemp("declared"))


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return library(tmp_path_factory.mktemp("plain"), sidecar=None)


def settings_for(root, dynamics="kinematic", objects=(2, 5), **video) -> Settings:
    return Settings(num_videos=4, assets=AssetSettings(root=str(root), builtin=False),
                    video=VideoSettings(**{"width": 48, "height": 48, "num_frames": 3,
                                           "fps": 8, **video}),
                    scene=SceneSettings(dynamics=dynamics, min_objects=objects[0],
                                        max_objects=objects[1]),
                    camera=CameraSettings(shake_probability=0.0))


def test_entries_apply_in_order_field_by_field(root):
    assert object_metadata(str(root), MUG) == ObjectMetadata(
        size="metric", unit="m", up="+z", category="coffee_mug", mass=0.35, density=None,
        friction=0.6)
    assert object_metadata(str(root), CAN) == ObjectMetadata(size="metric", up="+z",
                                                             density=500.0)
    assert object_metadata(str(root), BALL) == ObjectMetadata(
        size=0.5, up="+z", category="ball", density=500.0, restitution=0.9)
    assert object_metadata(str(root), "builtin:box/00") == ObjectMetadata()
    assert asset_category(MUG, str(root)) == "coffee_mug" and asset_category(MUG) is None


def test_the_declared_up_axis_becomes_plus_y(tmp_path):
    write_gso_object(tmp_path / "objects" / "tall", half=(0.01, 0.02, 0.05))  # tallest in z
    radius = math.sqrt(0.01 ** 2 + 0.02 ** 2 + 0.05 ** 2)
    for up, height in (("+y", 0.04), ("+z", 0.1), ("-z", 0.1), ("+x", 0.02), ("-y", 0.04)):
        root = tmp_path / up
        (root / "objects").mkdir(parents=True)
        (root / "objects" / "tall").symlink_to(tmp_path / "objects" / "tall")
        (root / "assets.yaml").write_text(f"objects/tall: {{up: '{up}'}}\n")
        mesh = load_object(str(root), "user:objects/tall/meshes/model.obj", 8).mesh
        extent = mesh.vertices.max(0) - mesh.vertices.min(0)
        assert extent[1] == pytest.approx(height / radius, rel=1e-6)
    # +z: the top (z max) goes up; -z: the bottom does. A point at z max:
    ups = {}
    for up in ("+z", "-z"):
        mesh = load_object(str(tmp_path / up), "user:objects/tall/meshes/model.obj", 8).mesh
        ups[up] = mesh.vertices[1, 1]  # CUBE_V[1] = (-1, -1, +1): z max
    assert ups["+z"] > 0 > ups["-z"]


def test_sizes_in_metres(root, tmp_path):
    radius = math.sqrt(0.04 ** 2 + 0.03 ** 2 + 0.06 ** 2)
    assert object_extent(str(root), MUG) == pytest.approx((radius, 0.12))
    assert declared_radius(str(root), MUG) == pytest.approx(radius)
    ball = object_extent(str(root), BALL)  # an icosphere of radius 3: 0.5 m across
    assert declared_radius(str(root), BALL) == pytest.approx(0.5 * ball.radius / ball.largest)
    assert declared_radius(str(root), BALL) == pytest.approx(0.25, rel=0.06)
    library(tmp_path, "objects/mug: {size: metric, unit: cm}\n")
    assert declared_radius(str(tmp_path), MUG) == pytest.approx(radius / 100)
    assert declared_radius(str(tmp_path), CAN) is None


def test_the_plan_keeps_its_draws_and_takes_the_declared_values(root, plain):
    for index in range(4):
        declared = plan_video(5, settings_for(root), index,
                              asset_pools(5, settings_for(root)))
        drawn = plan_video(5, settings_for(plain), index, asset_pools(5, settings_for(plain)))
        assert dataclasses.replace(declared, objects=drawn.objects) == drawn
        for a, b in zip(declared.objects, drawn.objects):
            assert dataclasses.replace(a, scale=b.scale, position=b.position,
                                       category=None) == b
            assert a.scale == pytest.approx(declared_radius(str(root), a.asset_id))
            assert a.category == {MUG: "coffee_mug", BALL: "ball", CAN: None}[a.asset_id]
        for a, b in combinations(declared.objects, 2):  # the real sizes do not overlap
            gap = math.hypot(a.position[0] - b.position[0], a.position[2] - b.position[2])
            assert gap >= a.scale + b.scale


def test_big_declared_objects_are_moved_clear_of_each_other(tmp_path):
    library(tmp_path, "objects/*: {size: 3.0}\n")
    settings = settings_for(tmp_path, objects=(5, 5))
    spec = plan_video(1, settings, 0, asset_pools(1, settings))
    for a, b in combinations(spec.objects, 2):
        gap = math.hypot(a.position[0] - b.position[0], a.position[2] - b.position[2])
        assert gap >= a.scale + b.scale > 1.0


def test_declared_physics_replace_the_drawn_values(root, plain):
    settings, other = settings_for(root, "physics"), settings_for(plain, "physics")
    spec = plan_video(2, settings, 1, asset_pools(2, settings))
    drawn = plan_video(2, other, 1, asset_pools(2, other))
    for obj, was in zip(spec.objects, drawn.objects):
        body = obj.body
        assert body.family == was.body.family
        if obj.asset_id == MUG:
            assert (body.mass, body.density, body.friction) == (0.35, was.body.density, 0.6)
            assert body.restitution == was.body.restitution
        elif obj.asset_id == BALL:
            assert (body.mass, body.density, body.restitution) == (None, 500.0, 0.9)
        else:
            assert (body.mass, body.density, body.friction) == (None, 500.0, was.body.friction)
    assert "mass" not in drawn.objects[0].body.to_dict()  # omitted when none is declared
    masses = simulate_video(spec, str(root), 8).masses
    for obj, mass in zip(spec.objects, masses):
        if obj.asset_id == MUG:
            assert mass == 0.35


def test_labels_reach_the_segmentation_table_and_the_prompt(root):
    settings = settings_for(root)
    spec = plan_video(5, settings, 0, asset_pools(5, settings))
    objects = tuple(dataclasses.replace(spec.objects[0], asset_id=a, category=c)
                    for a, c in ((MUG, "coffee_mug"), (MUG, "coffee_mug"), (CAN, None),
                                 (BALL, "ball")))
    spec = dataclasses.replace(spec, objects=objects)
    meta = SegmentationMeta.of("0000_segmentation.mkv", spec)
    assert meta.categories == {"2": "coffee_mug", "3": "coffee_mug", "5": "ball"}
    assert SegmentationMeta.from_dict(meta.to_dict()) == meta
    assert prompt_for(spec).startswith("A synthetic 3D render of two coffee mugs, an object and "
                                       "a ball on ")
    builtin = dataclasses.replace(spec, objects=tuple(
        dataclasses.replace(o, asset_id="builtin:box/00", category=None) for o in objects))
    assert "categories" not in SegmentationMeta.of("x.mkv", builtin).to_dict()


def test_a_metric_object_renders_at_its_size_with_its_texture(root):
    """One mug, placed at the camera's target: the annotations' 3D box is its size in metres
    and its pixels are its texture's blue."""
    settings = settings_for(root, objects=(1, 1), width=64, height=64)
    for index in range(4):
        spec = plan_video(0, settings, index, asset_pools(0, settings))
        if spec.objects[0].asset_id == MUG:
            break
    target = spec.camera.target
    obj = dataclasses.replace(spec.objects[0], position=(target[0], 0.0, target[2]),
                              velocity=(0.0, 0.0, 0.0), bounce_height=0.0, bounce_hz=0.0,
                              orbit_speed_deg_s=0.0)
    spec = dataclasses.replace(spec, objects=(obj,), camera=dataclasses.replace(
        spec.camera, distance=0.5, height=0.3, fov_y_deg=40.0))
    video = render_video(spec, options=RenderOptions(segmentation=True, asset_root=str(root)))
    meta = object_annotations(spec, video.segmentation, video.intrinsics, video.extrinsics,
                              str(root))
    track = meta.objects[0]
    assert track.category == "coffee_mug"
    corners = np.array(track.box_3d[0])
    size = [np.linalg.norm(corners[bit] - corners[0]) for bit in (4, 2, 1)]  # x, y, z edges
    assert size == pytest.approx(MUG_SIZE, rel=1e-6)  # float32 mesh vertices
    pixels = video.color[video.segmentation == 2].astype(int)
    assert len(pixels) > 50
    r, g, b = pixels.mean(0)
    assert b > 1.5 * g and b > 3 * r  # the texture (20, 60, 230), lit


def test_the_fingerprint_covers_the_sidecar(tmp_path):
    library(tmp_path)
    first = build_catalog(str(tmp_path), builtin=False).fingerprint()
    assert first["assets_yaml"] and object_metadata(str(tmp_path), MUG).friction == 0.6
    (tmp_path / "assets.yaml").write_text(SIDECAR.replace("0.6", "0.75"))
    assert build_catalog(str(tmp_path), builtin=False).fingerprint()["assets_yaml"] != \
        first["assets_yaml"]
    assert object_metadata(str(tmp_path), MUG).friction == 0.75  # read again once changed
    (tmp_path / "assets.yaml").unlink()
    assert "assets_yaml" not in build_catalog(str(tmp_path), builtin=False).fingerprint()


BAD = """\
objects/mug: {size: -0.1, colour: red}
objects/can: {up: z, mass: 1, density: 2}
objects/toys/*: {unit: cm, restitution: 1.5, category: 3}
objects/chair.glb: {size: metric}
objects/toys: [1, 2]
objects/toys/: {category: toy}
"""


def test_every_problem_of_a_sidecar_is_named_with_the_allowed_values(tmp_path):
    library(tmp_path, BAD)
    with pytest.raises(AssetError) as error:
        build_catalog(str(tmp_path), builtin=False)
    text = str(error.value)
    where = repr(str(tmp_path / "assets.yaml"))
    assert "the assets have 10 problems" in text
    for problem in (
            "'objects/mug': `size` is -0.1; allowed: `metric` (as modelled) or a positive number "
            "(largest dimension, metres)",
            "'objects/mug': unknown key 'colour'; allowed: size, unit, up, category, mass, "
            "density, friction, restitution",
            "'objects/can': `up` is 'z'; allowed: the mesh's up axis: one of +y, +z, -z, +x, "
            "-x, -y",
            "'objects/can': both `mass` and `density`; allowed: one of them",
            "'objects/toys/*': `restitution` is 1.5; allowed: a number from 0 to 1",
            "'objects/toys/*': `category` is 3; allowed: a label (text)",
            "'objects/toys/*': `unit` is 'cm' without `size: metric`",
            "'objects/toys' is [1, 2]; allowed: a mapping of fields",
            "the pattern 'objects/chair.glb' matches no object (patterns are relative",
            "the pattern 'objects/toys' matches no object (it is a folder: 'objects/toys/*' "
            "matches the objects in it)"):
        assert f"{where}: {problem}" in text


@pytest.mark.parametrize("content,problem", [
    ("objects/mug: {size: [\n", "not valid YAML at line 2"),
    ("- objects/mug\n", "holds a list at the top; allowed: a mapping"),
])
def test_a_broken_sidecar_file_is_named(tmp_path, content, problem):
    library(tmp_path, content)
    with pytest.raises(AssetError, match="assets.yaml': " + problem):
        build_catalog(str(tmp_path), builtin=False)
