"""Every output on, end to end: the real CLI, DDP processes, verify, preview, export and the
training reader."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from lightpipe.dataset.meta import VideoMeta
from lightpipe.dataset.outputs import REGISTRY, selected

from conftest import run_lightpipe, tiny_config, tree_hashes

pytestmark = pytest.mark.e2e

EVERY = ["color", "depth", "segmentation", "normals", "flow", "object_coordinates", "objects",
         "references"]


@pytest.fixture(scope="module")
def every_output(tmp_path_factory):
    """6 videos (5 train, 1 val), 64x48, 4 frames, 2-3 objects, every output on."""
    base = tmp_path_factory.mktemp("every_output")
    config = tiny_config(base / "every.yaml", base / "out", outputs=EVERY, num_videos=6,
                         video={"width": 64, "height": 48, "num_frames": 4},
                         scene={"min_objects": 2, "max_objects": 3},
                         dataset_split={"train_ratio": 0.8})
    proc = run_lightpipe("predict", "--config", str(config))
    return config, base / "out", tree_hashes(base / "out"), proc


def test_every_output_is_written_listed_and_recorded(every_output):
    _, out, hashes, proc = every_output
    suffixes = [f.suffix for o in selected(EVERY) for f in o.files]
    for index in range(6):
        split = "train" if index < 5 else "val"
        for suffix in [*suffixes, ".json"]:
            assert f"{split}/{index:04d}{suffix}" in hashes
        meta = VideoMeta.from_dict(__import__("json").loads(
            (out / split / f"{index:04d}.json").read_text()))
        assert set(meta.outputs) >= {"flow", "object_coordinates", "objects", "references"}
        assert len(meta.outputs["references"].frames) == len(meta.spec.objects)
        assert len(meta.outputs["objects"].objects) == len(meta.spec.objects)
    assert "lightpipe dataset: 6/6 videos complete" in proc.stdout


@pytest.mark.parametrize("processes", [2, 3])
def test_processes_give_identical_bytes_with_every_output(every_output, tmp_path, processes):
    config, _, hashes, _ = every_output
    out = tmp_path / "out"
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                  "--trainer.devices", str(processes), "--trainer.strategy", "ddp")
    assert tree_hashes(out) == hashes


@pytest.mark.parametrize("variant", [
    {"env": {"OMP_NUM_THREADS": "1"}, "args": []},
    {"env": {"OMP_NUM_THREADS": "2"}, "args": ["--settings.render.native", "false"]},
], ids=["1 thread native", "2 threads eager"])
def test_threads_and_backends_give_identical_bytes_with_every_output(every_output, tmp_path,
                                                                     variant):
    config, _, hashes, _ = every_output
    out = tmp_path / "out"
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                  *variant["args"], env=variant["env"])
    assert tree_hashes(out) == hashes


# The compiled kernels with every output: `tests/render/test_compiled_kernels.py` renders every
# output compiled against eager in process, and runs `predict --settings.render.compile true`
# end to end (the encoders do not depend on the backend). A CLI run of this config compiled
# took 6-8.5 min with a cold Inductor cache for no coverage of its own, so it is not repeated.


def test_verify_finds_a_flipped_byte_in_a_flow_file(every_output, tmp_path):
    config, out, _, _ = every_output
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert run_lightpipe("verify", "--config", str(config), "--settings.output_dir",
                         str(copy)).returncode == 0
    target = copy / "train" / "0001_flow_forward.mkv"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x40
    target.write_bytes(bytes(data))
    proc = run_lightpipe("verify", "--config", str(config), "--settings.output_dir", str(copy),
                         check=False)
    assert proc.returncode != 0
    assert "0001_flow_forward.mkv has sha256" in proc.stdout + proc.stderr


def test_preview_shows_a_flow_column(every_output, tmp_path):
    config, out, _, _ = every_output
    png = tmp_path / "p.png"
    proc = run_lightpipe("preview", "--config", str(config), "--index", "1", "--frames", "2",
                         "--out", str(png))
    assert "from files" in proc.stdout
    assert ("columns color, depth, segmentation, normals, flow, object_coordinates"
            in proc.stdout)
    from PIL import Image

    sheet = np.asarray(Image.open(png))
    assert sheet.shape[0] > 0 and sheet.shape[1] > 6 * 64


def test_export_writes_the_csvs(every_output, tmp_path):
    config, out, _, _ = every_output
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    proc = run_lightpipe("export", "--format", "diffsynth", "--root", str(copy))
    assert "metadata_train.csv (5 videos)" in proc.stdout
    rows = (copy / "metadata_train.csv").read_text().splitlines()
    assert rows[0] == "video,vace_video,prompt" and rows[1].startswith("train/0000_color.mp4,")


def test_the_training_reader_returns_every_output(every_output):
    from lightpipe.datamodule.training import GeneratedVideoDataModule

    _, out, _, _ = every_output
    readable = [name for name in REGISTRY if REGISTRY[name].reader_keys]
    native = GeneratedVideoDataModule(str(out), clip_length=3, outputs=readable)
    native.setup("fit")
    small = GeneratedVideoDataModule(str(out), clip_length=3, size=(24, 40), outputs=readable)
    small.setup("fit")
    item, resized = native.val_dataset[0], small.val_dataset[0]
    shapes = {"flow_forward": ((3, 2, 48, 64), torch.float32),
              "flow_backward_valid": ((3, 1, 48, 64), torch.bool),
              "flow_forward_visible": ((3, 1, 48, 64), torch.bool),
              "object_coordinates": ((3, 3, 48, 64), torch.float32),
              "object_coordinates_valid": ((3, 1, 48, 64), torch.bool),
              "segmentation": ((3, 1, 48, 64), torch.int64),
              "boxes_visible": ((3, 3, 4), torch.float32),
              "object_ids": ((3,), torch.int64),
              "references": ((3, 3, 48, 64), torch.float32),
              "reference_frames": ((3,), torch.int64)}
    for key, (shape, dtype) in shapes.items():
        assert tuple(item[key].shape) == shape and item[key].dtype == dtype, key
    assert not item["flow_forward_valid"][-1].any() or item["frame_indices"][-1] < 3
    assert not item["flow_backward_valid"][0].any()  # frame 0 has no previous frame
    # Resized 48x64 -> 30x40 (cover 24x40), cropped to 24x40: vectors scale with the pixels.
    assert tuple(resized["flow_forward"].shape) == (3, 2, 24, 40)
    geometry_scale = 40 / 64
    valid = item["flow_forward_valid"][:, 0]
    assert valid.any()
    big = item["flow_forward"][:, 0][valid].abs().max()
    small_valid = resized["flow_forward_valid"][:, 0]
    assert resized["flow_forward"][:, 0][small_valid].abs().max() <= big * geometry_scale + 1e-4
    boxes = resized["boxes_visible"]
    finite = torch.isfinite(boxes).all(-1)
    assert finite.any()
    assert (boxes[finite][:, 2] <= 40).all() and (boxes[finite][:, 3] <= 24).all()
    assert tuple(resized["references"].shape) == (3, 3, 24, 40)
    record = VideoMeta.from_dict(__import__("json").loads(
        (out / "val" / "0005.json").read_text())).outputs["references"]
    count = len(record.frames)
    assert item["reference_frames"].tolist() == [-1 if f is None else f for f in record.frames] \
        + [-1] * (3 - count)
    assert (item["references"][count:] == 1).all()  # padding slots are white
    assert (item["references"][:count] < 1).any()  # an object on white
    batch = torch.utils.data.default_collate([small.train_dataset[0], small.train_dataset[1]])
    assert batch["boxes_amodal"].shape[:3] == (2, 3, 3)
    assert batch["references"].shape == (2, 3, 3, 24, 40)


def test_an_output_the_dataset_lacks_is_refused(tiny_dataset):
    from lightpipe.dataset.index import DatasetError
    from lightpipe.datamodule.training import GeneratedVideoDataModule

    _, root = tiny_dataset
    dm = GeneratedVideoDataModule(str(root), clip_length=2, outputs=["color", "flow"])
    with pytest.raises(DatasetError, match=r"`outputs` includes 'flow', but 8 train video\(s\)"):
        dm.setup("fit")
