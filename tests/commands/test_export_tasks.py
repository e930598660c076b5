"""`lightpipe export --task T`: VACE's control tasks from a real dataset's ground truth, written
in VACE's naming, listed for DiffSynth-Studio and VACE, resumable, the same bytes with any
number of workers; bad input refused before anything is written."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from lightpipe.commands.dispatch import main
from lightpipe.dataset.vace.tasks import TASKS
from lightpipe.dataset.video_reader import read_rgb

from conftest import tiny_config, tree_hashes, write_dataset

@pytest.fixture(scope="module")
def ground_truth(ground_truth_dataset):
    return ground_truth_dataset[0]


def _copy(config, tmp_path, name="ds"):
    root = config if config.is_dir() else config.parent / "out"
    target = tmp_path / name
    shutil.copytree(root, target)
    return target


def _export(root, *args, capsys=None):
    code = main(["export", "--root", str(root), *args])
    captured = capsys.readouterr() if capsys else None
    return code, captured


def test_every_task_is_written_listed_and_the_same_bytes_with_two_workers(ground_truth, tmp_path,
                                                                          capsys):
    one, two = _copy(ground_truth, tmp_path, "one"), _copy(ground_truth, tmp_path, "two")
    tasks = [arg for name in TASKS for arg in ("--task", name)]
    code, captured = _export(one, "--format", "diffsynth", *tasks, capsys=capsys)
    assert code == 0
    assert _export(two, "--format", "diffsynth", "--workers", "2", *tasks)[0] == 0
    capsys.readouterr()
    written = {k: v for k, v in tree_hashes(one).items() if k.startswith("vace/")}
    assert written == {k: v for k, v in tree_hashes(two).items() if k.startswith("vace/")}
    assert len(written) == 4 * sum((1 + t.masked if t.source else 0) + t.reference
                                   for t in TASKS.values())
    for name, task in TASKS.items():
        with open(one / f"metadata_train_{name}.csv") as handle:
            rows = list(csv.DictReader(handle))
        keys = ["video", *(["vace_video"] if task.source else []),
                *(["vace_video_mask"] if task.masked and task.source else []),
                *(["vace_reference_image"] if task.reference else []), "prompt"]
        assert list(rows[0]) == keys and len(rows) == 3
        assert all((one / row[key]).is_file() for row in rows for key in keys[:-1])
        assert f"DiffSynth-Studio ({name}):" in captured.out
        assert "--data_file_keys " + ",".join(keys[:-1]) in captured.out
    with open(one / "metadata_val_outpainting.csv") as handle:
        row = next(csv.DictReader(handle))
    mask = read_rgb(one / row["vace_video_mask"])
    assert set(np.unique(mask)) == {0, 255}  # lossless: exactly the mask's values
    control = read_rgb(one / row["vace_video"])
    assert control.shape == read_rgb(one / row["video"]).shape
    grey = control[mask[..., 0] == 255]
    error = np.abs(grey.astype(int) - 128)  # H.264 at crf 18: grey 128 but near the edges
    assert np.median(error) == 0 and np.mean(error <= 2) > 0.9


def test_the_reference_task_writes_each_videos_drawn_object_alone_on_white(ground_truth,
                                                                          tmp_path):
    """VACE's R2V: no source video, one reference PNG per video: the drawn object's stored
    reference (`references` output), exactly, listed for DiffSynth and for VACE."""
    from PIL import Image

    from lightpipe.dataset.video_reader import read_rgb as read

    root = _copy(ground_truth, tmp_path)
    assert _export(root, "--format", "vace", "--task", "reference")[0] == 0
    assert _export(root, "--format", "diffsynth", "--task", "reference")[0] == 0
    lines = [json.loads(x) for x in (root / "vace_train_reference.jsonl").read_text().split("\n")
             if x]
    assert set(lines[0]) == {"src_ref_images", "prompt"}
    assert lines[0]["src_ref_images"] == "vace/reference/0000/src_ref_image_0-reference.png"
    drawn = set()
    for index in range(3):
        meta = json.loads((root / "train" / f"{index:04d}.json").read_text())
        image = np.asarray(Image.open(root / "vace" / "reference" / f"{index:04d}" /
                                      "src_ref_image_0-reference.png"))
        stored = read(root / "train" / f"{index:04d}_references.mkv")
        match = [k for k in range(len(meta["references"]["frames"]))
                 if np.array_equal(stored[k], image)]
        assert len(match) == 1 and meta["references"]["frames"][match[0]] is not None
        drawn.add(match[0])
        assert image.shape == (64, 64, 3) and image[0, 0].tolist() == [255, 255, 255]
    with open(root / "metadata_train_reference.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["vace_reference_image"] for row in rows] == [
        f"vace/reference/{i:04d}/src_ref_image_0-reference.png" for i in range(3)]


def test_a_second_run_writes_nothing_and_a_lost_file_is_made_again(ground_truth, tmp_path,
                                                                   capsys):
    root = _copy(ground_truth, tmp_path)
    assert _export(root, "--format", "vace", "--task", "firstframe", "--task", "flow")[0] == 0
    before = tree_hashes(root)
    capsys.readouterr()
    assert _export(root, "--format", "vace", "--task", "firstframe", "--task", "flow")[0] == 0
    assert "8 of 8 (video, task) exports already complete; 0 to write" in capsys.readouterr().err
    lost = root / "vace" / "flow" / "0001" / "src_video-flow.mp4"
    lost.unlink()
    assert _export(root, "--format", "vace", "--task", "flow")[0] == 0
    assert tree_hashes(root) == before
    lines = [json.loads(x) for x in (root / "vace_train_firstframe.jsonl").read_text().split("\n")
             if x]
    assert lines[0]["src_video"] == "vace/firstframe/0000/src_video-firstframe.mp4"
    assert lines[0]["src_mask"] == "vace/firstframe/0000/src_mask-firstframe.mp4"


def test_bad_tasks_are_refused_with_names_before_anything_is_written(ground_truth, tiny_dataset,
                                                                      tmp_path, capsys):
    root = _copy(ground_truth, tmp_path)
    before = tree_hashes(root)
    assert main(["export", "--root", str(root), "--format", "diffsynth", "--task", "sketch"]) != 0
    err = capsys.readouterr().err
    assert "--task" in err and "'sketch'" in err and "layout_track" in err
    assert "Traceback" not in err
    plain = _copy(tiny_dataset[1], tmp_path, "plain")  # color and depth only
    plain_before = tree_hashes(plain)
    assert main(["export", "--root", str(plain), "--format", "diffsynth", "--task", "depth",
                 "--task", "flow"]) != 0
    err = capsys.readouterr().err
    assert "--task flow needs the flow output" in err
    assert "--settings.outputs '[color,depth,flow]'" in err
    assert main(["export", "--root", str(root), "--format", "vace"]) != 0
    assert "--task" in capsys.readouterr().err
    assert tree_hashes(root) == before and tree_hashes(plain) == plain_before


def test_object_tasks_are_refused_for_a_dataset_without_objects(tmp_path, capsys):
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", num_videos=2,
                         outputs=["color", "depth", "segmentation"],
                         scene={"min_objects": 0, "max_objects": 0})
    root = write_dataset(config)
    before = tree_hashes(root)
    assert main(["export", "--root", str(root), "--format", "diffsynth",
                 "--task", "inpainting_masktrack"]) != 0
    err = capsys.readouterr().err
    assert "inpainting_masktrack" in err and "no video of this dataset has one" in err
    assert tree_hashes(root) == before


def test_a_video_that_cannot_have_an_object_task_is_noted_and_left_out_of_the_lists(tmp_path,
                                                                                   capsys):
    """A 3-degree field of view misses most objects: those videos get a note with the reason
    instead of files, are left out of the lists, and a second run does not try them again."""
    from lightpipe.dataset.video_reader import read_gray16

    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", num_videos=4,
                         video={"num_frames": 3}, camera={"fov_y_deg": [3.0, 3.0]},
                         outputs=["color", "depth", "segmentation", "references"],
                         scene={"min_objects": 1, "max_objects": 1},
                         dataset_split={"train_ratio": 1.0})
    root = write_dataset(config)
    assert main(["export", "--root", str(root), "--format", "diffsynth",
                 "--task", "inpainting_masktrack", "--task", "gray"]) == 0
    err = capsys.readouterr().err
    shows = [bool((read_gray16(root / "train" / f"{i:04d}_segmentation.mkv") >= 2).any())
             for i in range(4)]
    assert not all(shows)  # the case under test happens
    for i, seen in enumerate(shows):
        folder = root / "vace" / "inpainting_masktrack" / f"{i:04d}"
        assert (folder / "src_video-inpainting_masktrack.mp4").exists() == seen
        note = folder / "unavailable.txt"
        assert note.exists() != seen
        if not seen:
            assert "shows none of its 1 objects" in note.read_text()
    with open(root / "metadata_train_inpainting_masktrack.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["video"] for row in rows] == [f"train/{i:04d}_color.mp4"
                                              for i, seen in enumerate(shows) if seen]
    with open(root / "metadata_train_gray.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 4  # the other tasks keep every video
    assert f"task inpainting_masktrack: {shows.count(False)} train video(s) cannot have it" in err
    before = tree_hashes(root)
    assert main(["export", "--root", str(root), "--format", "diffsynth",
                 "--task", "inpainting_masktrack", "--task", "gray"]) == 0
    assert "8 of 8 (video, task) exports already complete" in capsys.readouterr().err
    assert tree_hashes(root) == before


def test_preview_shows_a_tasks_video_control_and_mask_from_files_or_rendered(ground_truth,
                                                                              tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "task.png"
    assert main(["preview", "--config", str(ground_truth), "--index", "1", "--frames", "2",
                 "--task", "inpainting_masktrack", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "from files" in printed and "video, control (inpainting_masktrack), mask" in printed
    sheet = np.asarray(Image.open(out))
    assert sheet.shape[1] > 3 * 256  # three panels of >= 256 px
    rendered = tmp_path / "rendered.png"  # another seed: video 1 is rendered on the fly
    assert main(["preview", "--config", str(ground_truth), "--project.seed", "8", "--index",
                 "1", "--frames", "2", "--task", "layout_bbox", "--out", str(rendered)]) == 0
    printed = capsys.readouterr().out
    assert "rendered on the fly" in printed and "columns video, control (layout_bbox)\n" in printed
    assert main(["preview", "--config", str(ground_truth), "--index", "1", "--task", "pose",
                 "--out", str(tmp_path / "x.png")]) != 0
    assert "'pose'" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
