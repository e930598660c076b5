"""The output directory: refused (with the reason) before anything is written, or prepared."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from lightpipe.config.settings import ProjectSettings, Settings, VideoSettings
from lightpipe.dataset.output_dir import check_output_dir, prepare_output_dir
from lightpipe.errors import OutputDirError

PROJECT = ProjectSettings(seed=7, name="tiny")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(num_videos=3, output_dir=str(tmp_path / "ds"), video=VideoSettings(64, 64, 1, 8))


def test_a_new_or_same_dataset_may_be_written(settings, tmp_path):
    check_output_dir(PROJECT, settings)
    assert not (tmp_path / "ds").exists()  # checking writes nothing
    prepare_output_dir(PROJECT, settings)
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["dataset.json", "train", "val"]
    check_output_dir(PROJECT, settings)  # the same identity: a rerun resumes


def test_another_configuration_is_refused_with_its_differences(settings):
    prepare_output_dir(PROJECT, settings)
    with pytest.raises(OutputDirError, match=re.escape(
            "holds a dataset made with another configuration (project.seed: 7 there, 8 now; "
            "settings.video.num_frames: 1 there, 2 now).\nAllowed: the same config and seed")):
        check_output_dir(replace(PROJECT, seed=8),
                         replace(settings, video=VideoSettings(64, 64, 2, 8)))
    check_output_dir(replace(PROJECT, seed=8), replace(settings, overwrite=True))


def test_a_dataset_of_an_older_renderer_is_not_resumed(settings, tmp_path):
    """A renderer that draws the same spec differently must not finish an older dataset."""
    prepare_output_dir(PROJECT, settings)
    path = tmp_path / "ds" / "dataset.json"
    description = json.loads(path.read_text())
    version = description["config"]["renderer"]
    description["config"]["renderer"] = version - 1
    path.write_text(json.dumps(description))
    with pytest.raises(OutputDirError, match=re.escape(
            f"(renderer: {version - 1} there, {version} now)")):
        check_output_dir(PROJECT, settings)


def test_unreadable_dataset_json_is_refused(settings, tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "dataset.json").write_text("[1,")
    with pytest.raises(OutputDirError, match="is not valid JSON.*\nHINT: pass --settings.overwrite"):
        check_output_dir(PROJECT, settings)


def test_unwritable_or_file_paths_are_refused(settings, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputDirError, match="which is a file, not a directory"):
        check_output_dir(PROJECT, replace(settings, output_dir=str(blocker)))
    with pytest.raises(OutputDirError, match="cannot be created or written"):
        check_output_dir(PROJECT, replace(settings, output_dir=str(blocker / "out")))
    assert blocker.read_text() == "x"


def test_overwrite_removes_the_old_dataset_first(settings, tmp_path):
    prepare_output_dir(PROJECT, settings)
    (tmp_path / "ds" / "train" / "0000.json").write_text("{}")
    (tmp_path / "ds" / ".dataset.json.tmp-123").write_text("stale")
    prepare_output_dir(replace(PROJECT, seed=8), replace(settings, overwrite=True))
    assert list((tmp_path / "ds" / "train").iterdir()) == []
    assert not (tmp_path / "ds" / ".dataset.json.tmp-123").exists()
    config = json.loads((tmp_path / "ds" / "dataset.json").read_text())["config"]
    assert config["project"] == {"seed": 8}
