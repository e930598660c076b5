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


def _write(path, meta, layout="written"):
    """A JSON as `write_json` writes it (the quick check's fast path), or compact."""
    if layout == "written":
        path.write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n")
    else:
        path.write_text(json.dumps(meta))


@pytest.mark.parametrize("layout", ["written", "compact"])
@pytest.mark.parametrize("damage", [
    "truncated file", "file removed", "json not json", "json cut short", "json of another index",
    "json of another format", "json without a required modality", "json with a bad size",
])
def test_damage_makes_a_video_corrupt(copy, damage, layout):
    meta_path = copy.meta_file(4)
    meta = json.loads(meta_path.read_text())
    if damage == "truncated file":
        copy.video_file(4, "depth").write_bytes(b"short")
    elif damage == "file removed":
        copy.video_file(4, "color").unlink()
    elif damage == "json not json":
        meta_path.write_text("{")
    elif damage == "json cut short":
        _write(meta_path, meta, layout)
        meta_path.write_text(meta_path.read_text()[:-40])
    elif damage == "json of another index":
        _write(meta_path, {**meta, "index": 5}, layout)
    elif damage == "json of another format":
        _write(meta_path, {**meta, "format_version": meta["format_version"] - 1}, layout)
    elif damage == "json without a required modality":
        del meta["files"]["0004_depth.mp4"]
        _write(meta_path, meta, layout)
    else:
        meta["files"]["0004_depth.mp4"]["bytes"] = str(meta["files"]["0004_depth.mp4"]["bytes"])
        _write(meta_path, meta, layout)
    for check in (copy.check(4), copy.quick_check(4)):
        assert (check.status, check.meta) == (VideoStatus.CORRUPT, None)
        assert check.problem  # says what is wrong, for verify
    assert copy.pending(hashes=False) == [4]
    assert copy.pending(range(5, 10), hashes=False) == []  # a task checks only its share


@pytest.mark.parametrize("layout", ["written", "compact"])
def test_the_quick_check_reads_the_files_table_whatever_the_layout(copy, layout):
    meta = json.loads(copy.meta_file(3).read_text())
    _write(copy.meta_file(3), meta, layout)
    check = copy.quick_check(3)
    assert (check.status, check.meta) == (VideoStatus.COMPLETE, None)
    _write(copy.meta_file(3), {**meta, "colour": "red"}, layout)  # the full check's business
    assert copy.quick_check(3).complete
    assert copy.check(3).status is VideoStatus.CORRUPT


def test_same_size_corruption_is_found_only_by_hashing(copy):
    path = copy.video_file(6, "color")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert copy.check(6, hashes=False).status is VideoStatus.COMPLETE
    assert copy.check(6, hashes=True).status is VideoStatus.CORRUPT
    assert copy.pending(hashes=True) == [6]


def test_a_failure_record_stands_against_a_complete_looking_video(copy):
    """What `verify` leaves for a corrupt video, and what a crash between the JSON commit and
    the record's removal leaves: either way the stat-based resume redoes the video."""
    copy.failure_file(6).parent.mkdir()
    copy.failure_file(6).write_text("video 6\ncorrupt (found by lightpipe verify): ...")
    check = copy.check(6)
    assert check.status is VideoStatus.CORRUPT and "failure record" in check.problem
    assert copy.pending(hashes=False) == [6]
