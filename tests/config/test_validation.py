"""Every bad value is refused by name, in process: the parser the commands share, then the
validator, exactly the path `lightpipe predict`/`plan`/`verify`/`preview` take."""

from __future__ import annotations

import re

import pytest

from lightpipe.commands.parsing import config_parser, parse_config
from lightpipe.config.settings import ProjectSettings, RenderSettings, SceneSettings, Settings
from lightpipe.config.validation import validate_settings
from lightpipe.errors import ConfigError, LightpipeError

from conftest import tiny_config

BAD_VALUES = [
    (("--settings.num_videos", "0"), r"`settings.num_videos` is 0; allowed: an integer >= 1"),
    (("--settings.dataset_split.train_ratio", "1.5"),
     r"`settings.dataset_split.train_ratio` is 1.5; allowed: a number in \(0, 1\]"),
    (("--settings.dataset_split.train_ratio", "0"),
     r"`settings.dataset_split.train_ratio` is 0.0; allowed: a number in \(0, 1\]"),
    (("--settings.video.width", "63"),
     r"`settings.video.width` is 63; allowed: an even integer in \[2, 8192\]"),
    (("--settings.video.height", "0"),
     r"`settings.video.height` is 0; allowed: an even integer in \[2, 8192\]"),
    (("--settings.video.num_frames", "0"),
     r"`settings.video.num_frames` is 0; allowed: an integer >= 1"),
    (("--settings.video.fps", "0"), r"`settings.video.fps` is 0; allowed: an integer > 0"),
    (("--settings.encoder.threads", "0"),
     r"`settings.encoder.threads` is 0; allowed: an integer >= 1"),
    (("--settings.render.videos_in_flight", "0"),
     r"`settings.render.videos_in_flight` is 0; allowed: an integer >= 1"),
    (("--settings.camera.fov_y_deg", "[70, 50]"),
     r"`settings.camera.fov_y_deg` is \[70.0, 50.0\]; allowed: \[low, high\] with low <= high"),
    (("--settings.outputs", "[color]"),
     r"`settings.outputs` is \['color'\]; allowed: a list that includes 'color' and 'depth'"),
    (("--settings.lighting.elevation_deg", "[-10, 40]"),
     r"`settings.lighting.elevation_deg` is \[-10.0, 40.0\]; allowed: \[low, high\] degrees "
     r"with 0 < low <= high <= 90.\nHINT: the key light is above the horizon"),
    (("--settings.lighting.elevation_deg", "[30, 95]"),
     r"`settings.lighting.elevation_deg` is \[30.0, 95.0\]; allowed: \[low, high\] degrees"),
    (("--settings.render.antialias", "5"),
     r"`settings.render.antialias` is 5; allowed: 1 \(off\), 2, 3 or 4"),
    (("--settings.lock_wait", "-1"),
     r"`settings.lock_wait` is -1.0; allowed: a number of seconds >= 0"),
    (("--settings.assets.mesh_cache_mb", "0"),
     r"`settings.assets.mesh_cache_mb` is 0; allowed: an integer number of megabytes >= 1"),
    *((("--settings.render.max_texture_size", size),
       rf"`settings.render.max_texture_size` is {size}; allowed: a power of two in \[64, 8192\] "
       r"\(64, 128, 256, 512, 1024, 2048, 4096, 8192\).\nHINT: texels per side")
      for size in ("1000", "0", "16384", "32")),
    (("--settings.scene.environment_ground_probability", "1.5"),
     r"`settings.scene.environment_ground_probability` is 1.5; allowed: a probability in "
     r"\[0, 1\]"),
    (("--settings.scene.environment_ground_probability", "-0.1"),
     r"`settings.scene.environment_ground_probability` is -0.1; allowed: a probability"),
    (("--settings.scene.capture_height", "[0, 1]"),
     r"`settings.scene.capture_height` is \[0.0, 1.0\]; allowed: \[low, high\] with "
     r"0 < low <= high"),
    (("--settings.scene.capture_height", "[1.8, 1.4]"),
     r"`settings.scene.capture_height` is \[1.8, 1.4\]; allowed: \[low, high\] with low <= high"),
]


@pytest.mark.parametrize("override,message", BAD_VALUES, ids=[b[0][0] for b in BAD_VALUES])
def test_bad_values_are_named_with_what_is_allowed(tmp_path, override, message):
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out")
    with pytest.raises(ConfigError, match=message):
        parse_config(config_parser("test", "test"), ["--config", str(config), *override])


@pytest.mark.parametrize("typo", ["--settings.num_video", "--settings.num_vidoes"])
def test_unknown_keys_are_refused_with_the_closest_known_key(tmp_path, typo):
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out")
    with pytest.raises(LightpipeError, match=re.escape(
            f"`{typo}` is not a known key.\nHINT: did you mean --settings.num_videos?")):
        parse_config(config_parser("test", "test"), ["--config", str(config), typo, "3"])


def test_defaults_are_valid_and_seed_zero_is_allowed():
    validate_settings(ProjectSettings(), Settings())
    validate_settings(ProjectSettings(seed=0), Settings())


@pytest.mark.parametrize("seed", [-1, 2**32, 1180591620717411303424])
def test_seeds_outside_32_bits_are_refused(seed):
    with pytest.raises(ConfigError, match=re.escape(
            f"`project.seed` is {seed}; allowed: an integer in [0, 4294967295]")):
        validate_settings(ProjectSettings(seed=seed), Settings())
    validate_settings(ProjectSettings(seed=2**32 - 1), Settings())


def test_compile_without_a_cxx_compiler_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-g++"))
    with pytest.raises(ConfigError, match=re.escape(
            "`settings.render.compile` is True; allowed: false on a machine without a C++ "
            "compiler")):
        validate_settings(ProjectSettings(), Settings(render=RenderSettings(compile=True)))


@pytest.mark.parametrize("size", [64, 128, 1024, 2048, 8192])
def test_every_power_of_two_texture_size_in_bounds_is_valid(size):
    validate_settings(ProjectSettings(), Settings(render=RenderSettings(max_texture_size=size)))


@pytest.mark.parametrize("size", [2048.0, True, 3 * 1024])
def test_texture_sizes_that_are_not_whole_powers_of_two_are_refused(size):
    with pytest.raises(ConfigError, match=re.escape(
            f"`settings.render.max_texture_size` is {size}; allowed: a power of two in "
            "[64, 8192]")):
        validate_settings(ProjectSettings(),
                          Settings(render=RenderSettings(max_texture_size=size)))


def test_an_unknown_ground_kind_is_refused_by_the_parser(tmp_path):
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out")
    with pytest.raises(LightpipeError, match=re.escape(
            "`settings.scene.ground` is 'dome'; allowed: one of material, environment.")):
        parse_config(config_parser("test", "test"),
                     ["--config", str(config), "--settings.scene.ground", "dome"])


def test_the_ground_kind_is_checked_outside_the_parser_too():
    """Settings built in Python (the API) meet the same check as the command line's."""
    validate_settings(ProjectSettings(), Settings(scene=SceneSettings(ground="environment")))
    with pytest.raises(ConfigError, match=re.escape(
            "`settings.scene.ground` is 'dome'; allowed: material or environment")):
        validate_settings(ProjectSettings(), Settings(scene=SceneSettings(ground="dome")))
