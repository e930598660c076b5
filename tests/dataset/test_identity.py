"""The dataset identity (what fixes the bytes) and `inspect_dataset`, the one "is it ours?"."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import metadata

import pytest

from lightpipe.config.settings import (
    AssetSettings,
    EncoderSettings,
    ProjectSettings,
    RenderSettings,
    SceneSettings,
    Settings,
    VideoSettings,
)
from lightpipe.dataset.identity import (
    RENDERER_VERSION,
    RUNTIME_ONLY_KEYS,
    dataset_description,
    dataset_identity,
)
from lightpipe.dataset.index import Match, inspect_dataset
from lightpipe.dataset.output_dir import prepare_output_dir

PROJECT = ProjectSettings(seed=7, name="tiny")
SETTINGS = Settings(num_videos=4, video=VideoSettings(64, 64, 2, 8))


def test_identity_is_seed_settings_assets_and_renderer():
    identity = dataset_identity(PROJECT, SETTINGS)  # dynamics: physics, the default
    assert set(identity) == {"project", "settings", "assets", "renderer", "physics_engine"}
    # the installed engine's version: another release may step differently
    assert identity["physics_engine"] == f"mujoco {metadata.version('mujoco')}"
    assert identity["settings"]["scene"]["dynamics"] == "physics"
    assert identity["settings"]["physics"]["step_hz"] == SETTINGS.physics.step_hz
    assert identity["project"] == {"seed": 7}  # not the name: renaming keeps the dataset
    assert identity["renderer"] == RENDERER_VERSION
    assert identity["assets"] == {"builtin_objects": 72, "builtin_materials": 42, "user_files": {}}
    assert identity["settings"]["video"] == {"width": 64, "height": 64, "num_frames": 2, "fps": 8}
    assert json.loads(json.dumps(identity)) == identity  # compares equal after a JSON round trip


def test_a_kinematic_identity_has_no_engine_and_no_physics_settings():
    kinematic = replace(SETTINGS, scene=replace(SETTINGS.scene, dynamics="kinematic"))
    identity = dataset_identity(PROJECT, kinematic)
    assert set(identity) == {"project", "settings", "assets", "renderer"}
    assert identity["settings"]["scene"]["dynamics"] == "kinematic"
    assert "physics" not in identity["settings"]
    assert identity != dataset_identity(PROJECT, SETTINGS)
    # no simulation: the physics settings change no byte, so not the identity either
    assert dataset_identity(PROJECT, replace(kinematic, physics=replace(
        kinematic.physics, step_hz=480))) == identity
    assert dataset_identity(PROJECT, replace(SETTINGS, physics=replace(
        SETTINGS.physics, step_hz=480))) != dataset_identity(PROJECT, SETTINGS)


@pytest.mark.parametrize("runtime", [
    {"output_dir": "elsewhere"}, {"overwrite": True}, {"lock_wait": 600.0},
    {"render": RenderSettings(compile=True, frames_per_chunk=1, max_candidates=70_000)},
    {"encoder": EncoderSettings(max_pending_videos=5)},
    {"assets": AssetSettings(mesh_cache_mb=64)},
])
def test_runtime_only_settings_do_not_change_the_identity(runtime):
    assert dataset_identity(PROJECT, replace(SETTINGS, **runtime)) == \
        dataset_identity(PROJECT, SETTINGS)


def test_runtime_only_keys_are_absent_from_the_identity():
    identity = dataset_identity(PROJECT, SETTINGS)["settings"]
    for key in RUNTIME_ONLY_KEYS:
        *parents, leaf = key.split(".")
        node = identity
        for parent in parents:
            node = node[parent]
        assert leaf not in node, key


@pytest.mark.parametrize("change", [
    {"num_videos": 5}, {"encoder": EncoderSettings(crf=20)},
    {"render": RenderSettings(antialias=3)}, {"outputs": ("color", "depth", "normals")},
    {"render": RenderSettings(max_texture_size=1024)},
])
def test_byte_relevant_settings_change_the_identity(change):
    assert dataset_identity(PROJECT, replace(SETTINGS, **change)) != \
        dataset_identity(PROJECT, SETTINGS)


def test_texture_size_is_in_the_identity():
    assert dataset_identity(PROJECT, SETTINGS)["settings"]["render"]["max_texture_size"] == 2048


def test_the_environment_ground_keys_are_in_the_identity_only_with_that_ground():
    """With the material ground (the default) they change nothing, so they are left out and
    changing them keeps the dataset; with `ground: environment` each one changes it."""
    material = dataset_identity(PROJECT, SETTINGS)
    scene = material["settings"]["scene"]
    assert not {"ground", "environment_ground_probability", "capture_height"} & set(scene)
    assert dataset_identity(PROJECT, replace(SETTINGS, scene=SceneSettings(
        environment_ground_probability=0.5, capture_height=(1.0, 2.0)))) == material

    def identity(**scene):
        return dataset_identity(PROJECT, replace(SETTINGS, scene=SceneSettings(
            ground="environment", **scene)))

    dome = identity()
    assert dome != material
    assert dome["settings"]["scene"]["ground"] == "environment"
    assert dome["settings"]["scene"]["environment_ground_probability"] == 1.0
    assert dome["settings"]["scene"]["capture_height"] == [1.4, 1.8]
    assert identity(environment_ground_probability=0.5) != dome
    assert identity(capture_height=(1.0, 2.0)) != dome


def test_inspect_tells_absent_unreadable_other_and_same(tmp_path):
    settings = replace(SETTINGS, output_dir=str(tmp_path / "ds"))
    identity = dataset_identity(PROJECT, settings)
    assert inspect_dataset(tmp_path / "ds", identity).match is Match.ABSENT

    prepare_output_dir(PROJECT, settings)
    same = inspect_dataset(tmp_path / "ds", identity)
    assert same.match is Match.SAME and same.info == dataset_description(PROJECT, settings)

    other = inspect_dataset(tmp_path / "ds", dataset_identity(replace(PROJECT, seed=8), settings))
    assert other.match is Match.OTHER
    assert other.differences == ("project.seed: 7 there, 8 now",)
    assert other.problem == f"'{tmp_path / 'ds'}' holds a dataset made with another configuration"

    (tmp_path / "ds" / "dataset.json").write_text("{not json")
    unreadable = inspect_dataset(tmp_path / "ds", identity)
    assert unreadable.match is Match.UNREADABLE
    assert unreadable.problem.startswith(f"{tmp_path / 'ds' / 'dataset.json'} is not valid JSON")


def test_description_is_the_same_for_the_same_identity():
    first = dataset_description(PROJECT, SETTINGS)
    again = dataset_description(PROJECT, replace(SETTINGS, output_dir="x", overwrite=True))
    assert first == again
    assert first["counts"] == {"total": 4, "train": 3, "val": 1}
    assert first["splits"]["val"] == {"count": 1, "first": "0003", "last": "0003"}
