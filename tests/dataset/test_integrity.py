"""A video is complete only if it is the plan's: its JSON's identity hash and split (every
check), and its spec and camera (`verify`'s plan check); files no planned video owns are stray."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lightpipe.atomic_io import write_json
from lightpipe.commands.plan_check import plan_problem
from lightpipe.dataset.identity import (
    dataset_identity,
    identity_sha256,
    run_layout,
    video_identity,
)
from lightpipe.dataset.index import DatasetError, DatasetIndex
from lightpipe.dataset.meta import VideoMeta, VideoStatus
from lightpipe.planning.planner import asset_pools, plan_video

from conftest import settings_of


@pytest.fixture
def mixed(datasets, tmp_path):
    """A copy of seed 7's dataset with video 0001 (JSON and files) copied in from seed 8's, and
    the run layout of seed 7's config pointed at it."""
    config, out = datasets[7]
    copy = tmp_path / "mixed"
    shutil.copytree(out, copy)
    for path in (datasets[8][1] / "train").glob("0001*"):
        shutil.copy(path, copy / "train" / path.name)
    project, settings = settings_of(config)
    return copy, run_layout(project, replace(settings, output_dir=str(copy)))


def rewrite(path: Path, **changes) -> None:
    write_json(path, {**json.loads(path.read_text()), **changes})


def test_the_video_identity_leaves_out_num_videos_only(datasets):
    project, settings = settings_of(datasets[7][0])
    identity = dataset_identity(project, settings)
    grown = dataset_identity(project, replace(settings, num_videos=40))
    assert identity != grown and video_identity(identity) == video_identity(grown)
    other_seed = dataset_identity(replace(project, seed=8), settings)
    assert identity_sha256(video_identity(other_seed)) != identity_sha256(video_identity(identity))
    info = json.loads((datasets[7][1] / "dataset.json").read_text())
    meta = json.loads((datasets[7][1] / "train" / "0000.json").read_text())
    assert info["format_version"] == meta["format_version"] == 3
    assert meta["identity_sha256"] == info["video_identity_sha256"] \
        == run_layout(project, settings).identity_sha256


def test_a_video_of_another_seed_is_never_complete(mixed):
    copy, layout = mixed
    assert layout.pending(hashes=True) == layout.pending(hashes=False) == [1]
    for check in (layout.check(1, hashes=True), layout.quick_check(1)):
        assert check.status is VideoStatus.CORRUPT
        assert check.problem.startswith("0001.json was recorded for another configuration or "
                                        "seed: identity ")
        assert check.problem.endswith(f" there, {layout.identity_sha256[:12]} here")


def test_the_dataset_index_skips_a_video_of_another_seed(mixed, datasets):
    copy, _ = mixed
    index = DatasetIndex.open(copy)
    info = json.loads((copy / "dataset.json").read_text())
    assert index.layout.identity_sha256 == info["video_identity_sha256"]
    found, incomplete = index.complete_videos(("train", "val"))
    assert incomplete == [1]
    assert [video.index for video in found["train"]] == [0, 2]
    assert [video.index for video in found["val"]] == [3]


def test_a_format_3_json_without_identity_or_of_another_split_is_corrupt(datasets, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(datasets[7][1], copy)
    project, settings = settings_of(datasets[7][0])
    layout = run_layout(project, replace(settings, output_dir=str(copy)))
    meta = json.loads((copy / "train" / "0000.json").read_text())
    meta.pop("identity_sha256")
    write_json(copy / "train" / "0000.json", meta)
    rewrite(copy / "train" / "0002.json", split="val")
    for check in (layout.check, layout.quick_check):
        assert check(0).problem == ("0000.json was recorded for another configuration or seed: "
                                    f"identity none there, {layout.identity_sha256[:12]} here")
        assert check(2).problem == "0002.json is a val video; video 2 is train here"
    assert layout.pending(hashes=False) == [0, 2]
    assert DatasetIndex.open(copy).complete_videos(("train",))[1] == [0, 2]


def test_a_format_3_dataset_json_without_video_identity_is_refused(datasets, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(datasets[7][1], copy)
    info = json.loads((copy / "dataset.json").read_text())
    info.pop("video_identity_sha256")
    write_json(copy / "dataset.json", info)
    with pytest.raises(DatasetError, match=r"dataset.json has no `video_identity_sha256`, which "
                                           r"format 3 records; the file is damaged\.\nHINT: "):
        DatasetIndex.open(copy)


def test_the_plan_check_names_the_field_that_differs(datasets):
    config, out = datasets[7]
    project, settings = settings_of(config)
    spec = plan_video(project.seed, settings, 2, asset_pools(project.seed, settings))
    record = json.loads((out / "train" / "0002.json").read_text())
    assert plan_problem(VideoMeta.from_dict(record), spec) is None
    record["camera"]["extrinsics"][2][0][3] += 1e-12
    assert plan_problem(VideoMeta.from_dict(record), spec) == \
        "camera.extrinsics frame 2 differs from the plan"
    foreign = json.loads((datasets[8][1] / "train" / "0002.json").read_text())
    assert plan_problem(VideoMeta.from_dict(foreign), spec).startswith(
        "spec.master_seed 8, plan 7; spec.video_seed ")


def test_stray_files_are_listed_not_deleted(datasets, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(datasets[7][1], copy)
    project, settings = settings_of(datasets[7][0])
    layout = run_layout(project, replace(settings, output_dir=str(copy)))
    stray = ["train/.0001_color.mp4.tmp-123", "train/0003.json", "train/0099_color.mp4",
             "train/notes.txt", "val/0000_depth.mkv", "failures/0007.txt", "failures/x.log"]
    for name in stray:
        (copy / name).parent.mkdir(exist_ok=True)
        (copy / name).write_text("x")
    (copy / "failures" / "0001.txt").write_text("video 1\n")  # a planned video's record
    (copy / "val" / "old").mkdir()
    assert layout.stray_files() == sorted(stray[:5]) + ["val/old/", "failures/0007.txt",
                                                        "failures/x.log"]
    assert all((copy / name).exists() for name in stray)
