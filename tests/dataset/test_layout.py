"""Layout: names by global index, and `check`, the one completeness test (status + metadata)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lightpipe.dataset.layout import Layout
from lightpipe.dataset.meta import VideoMeta, VideoStatus


@pytest.fixture
def copy(tiny_dataset, tmp_path) -> Layout:
    """A writable copy of the tiny dataset (10 videos: train 0-7, val 8-9)."""
    shutil.copytree(tiny_dataset[1], tmp_path / "ds")
    return Layout(tmp_path / "ds", num_videos=10, num_train=8)


def test_names_follow_the_global_index():
    layout = Layout(Path("out"), num_videos=80, num_train=64)
    assert layout.video_file(3, "color") == Path("out/train/0003_color.mp4")
    assert layout.video_file(64, "depth_vis") == Path("out/val/0064_depth.mp4")
    assert layout.video_file(64, "depth") == Path("out/val/0064_depth.mkv")
    assert layout.video_file(0, "segmentation") == Path("out/train/0000_segmentation.mkv")
    assert layout.meta_file(79) == Path("out/val/0079.json")
    assert layout.failure_file(5) == Path("out/failures/0005.txt")
    assert [layout.split_of(i) for i in (0, 63, 64, 79)] == ["train", "train", "val", "val"]
    assert Layout(Path("o"), num_videos=12345, num_train=1).stem(7) == "00007"
    assert layout.describe([0, 1, 2, 5, 7, 8]) == "0000-0002, 0005, 0007-0008"
    assert layout.describe([]) == "-"


def test_a_complete_video_comes_with_its_metadata(copy):
    check = copy.check(3, hashes=True)
    assert check.status is VideoStatus.COMPLETE and check.complete
    assert check.meta == VideoMeta.from_dict(json.loads(copy.meta_file(3).read_text()))
    assert check.meta.index == 3 and check.meta.split == "train"
    assert set(check.meta.modality_files(copy.video_dir(3))) == {"color", "depth_vis", "depth"}
    assert copy.pending(hashes=True) == []


def test_missing_and_failed(copy):
    copy.meta_file(2).unlink()
    assert copy.check(2).status is VideoStatus.MISSING and copy.check(2).meta is None
    copy.failure_file(2).parent.mkdir()
    copy.failure_file(2).write_text("video 2\nTraceback ...")
    assert copy.check(2).status is VideoStatus.FAILED
    assert copy.pending(hashes=False) == [2]


@pytest.mark.parametrize("damage", [
    "truncated file", "file removed", "json not json", "json of another index",
    "json without a required modality", "json with an unknown key",
])
def test_damage_makes_a_video_corrupt(copy, damage):
    meta_path = copy.meta_file(4)
    meta = json.loads(meta_path.read_text())
    if damage == "truncated file":
        copy.video_file(4, "depth").write_bytes(b"short")
    elif damage == "file removed":
        copy.video_file(4, "color").unlink()
    elif damage == "json not json":
        meta_path.write_text("{")
    elif damage == "json of another index":
        meta_path.write_text(json.dumps({**meta, "index": 5}))
    elif damage == "json without a required modality":
        del meta["files"]["0004_depth.mp4"]
        meta_path.write_text(json.dumps(meta))
    else:
        meta_path.write_text(json.dumps({**meta, "colour": "red"}))
    check = copy.check(4)
    assert (check.status, check.meta) == (VideoStatus.CORRUPT, None)
    assert copy.pending(hashes=False) == [4]


def test_same_size_corruption_is_found_only_by_hashing(copy):
    path = copy.video_file(6, "color")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert copy.check(6, hashes=False).status is VideoStatus.COMPLETE
    assert copy.check(6, hashes=True).status is VideoStatus.CORRUPT
    assert copy.pending(hashes=True) == [6]
