"""GeneratedVideoDataModule on a real tiny dataset: values, geometry, offsets, errors."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch

from lightpipe.datamodule.training import GeneratedVideoDataModule
from lightpipe.dataset.depth_codes import inverse_depth_gray
from lightpipe.dataset.index import DatasetError
from lightpipe.dataset.video_reader import VideoReadError, read_rgb
from lightpipe.errors import ConfigError
from lightpipe.planning.specs import VideoSpec
from lightpipe.render.renderer import render_video

ALL = ["color", "depth", "depth_vis"]


@pytest.fixture(scope="module")
def out(tiny_dataset):
    return tiny_dataset[1]


@pytest.fixture
def copy(out, tmp_path):
    """A writable copy of the tiny dataset."""
    target = tmp_path / "ds"
    shutil.copytree(out, target)
    return target


def module(root, **kwargs) -> GeneratedVideoDataModule:
    dm = GeneratedVideoDataModule(str(root), **{"clip_length": 3, "outputs": ALL, **kwargs})
    dm.setup("fit")
    return dm


def test_item_round_trip_matches_the_render(out):
    dm = module(out, clip_length=3, frame_stride=2)  # videos have 5 frames: clip = 0, 2, 4
    item = dm.train_dataset[(0, 2)]
    meta = json.loads((out / "train" / "0002.json").read_text())
    rendered = render_video(VideoSpec.from_dict(meta["spec"]))
    frames = [0, 2, 4]

    assert item["index"] == 2 and item["split"] == "train"
    assert item["frame_indices"].tolist() == frames and item["frame_indices"].dtype == torch.long
    expected = {"color": (3, 3, 64, 64), "depth": (3, 1, 64, 64), "depth_vis": (3, 3, 64, 64),
                "intrinsics": (3, 3), "extrinsics": (3, 4, 4)}
    for name, shape in expected.items():
        assert item[name].shape == shape and item[name].dtype == torch.float32, name

    metric = meta["depth"]["metric"]
    step = (metric["far"] - metric["near"]) / 65534
    depth, truth = item["depth"][:, 0].numpy(), rendered.depth[frames]
    assert np.array_equal(depth > 0, truth > 0)  # 0 = no surface survives
    assert np.abs(depth - truth).max() <= step / 2 + 1e-5 * metric["far"]

    color = item["color"].numpy()
    assert 0.0 <= color.min() and color.max() <= 1.0
    decoded = read_rgb(out / "train" / "0002_color.mp4")[frames]  # the generator's decoder
    assert np.array_equal(np.rint(color * 255).astype(np.uint8).transpose(0, 2, 3, 1), decoded)
    assert np.median(np.abs(decoded.astype(int) - rendered.color[frames])) <= 3

    vis = item["depth_vis"].numpy()
    assert 0.0 <= vis.min() and vis.max() <= 1.0
    gray, _ = inverse_depth_gray(rendered.depth)  # per-video normalization, as written
    assert np.abs(vis[:, 0] * 255 - gray[frames]).mean() < 3
    assert np.abs(vis[:, 0] - vis[:, 2]).max() <= 4 / 255

    assert torch.equal(item["intrinsics"], torch.tensor(meta["camera"]["intrinsics"]).float())
    assert np.allclose(item["extrinsics"].numpy(), rendered.extrinsics[frames], atol=1e-6)


def test_val_items_start_at_frame_zero(out):
    dm = module(out, clip_length=2)
    assert [dm.val_dataset[i]["index"] for i in range(2)] == [8, 9]
    for epoch in range(3):
        assert dm.val_dataset[(epoch, 1)]["frame_indices"].tolist() == [0, 1]


@pytest.mark.parametrize("size,scale,top,left", [((32, 48), 0.75, 8, 0), ((48, 32), 0.75, 0, 8),
                                                 ((32, 32), 0.5, 0, 0), ((96, 64), 1.5, 0, 16)])
def test_resize_and_crop_adjust_intrinsics_and_pixels(out, size, scale, top, left):
    full = module(out).val_dataset[0]
    item = module(out, size=size).val_dataset[0]
    k = full["intrinsics"].double()
    expected = k.clone()
    expected[:2, :] *= scale
    expected[0, 2] -= left
    expected[1, 2] -= top
    assert torch.allclose(item["intrinsics"].double(), expected, atol=1e-4)
    assert item["color"].shape == (3, 3, *size) and item["depth"].shape == (3, 1, *size)
    # Nearest-neighbour depth: output pixel (i, j) is the source pixel under its centre,
    # mapped back through the crop offset and the scale (the same mapping as the intrinsics).
    rows = np.floor((np.arange(size[0]) + top + 0.5) / scale).astype(int)
    cols = np.floor((np.arange(size[1]) + left + 0.5) / scale).astype(int)
    source = full["depth"][:, 0].numpy()[:, rows][:, :, cols]
    assert np.array_equal(item["depth"][:, 0].numpy(), source)


def test_train_offsets_depend_only_on_seed_epoch_and_index(out):
    a, b, other_seed = module(out, clip_length=2), module(out, clip_length=2), module(
        out, clip_length=2, seed=1)
    starts = {epoch: [int(a.train_dataset[(epoch, p)]["frame_indices"][0]) for p in range(8)]
              for epoch in range(3)}
    for epoch, row in starts.items():
        assert row == [int(b.train_dataset[(epoch, p)]["frame_indices"][0]) for p in range(8)]
        rngs = [np.random.default_rng(np.random.SeedSequence([0, epoch, i])) for i in range(8)]
        assert row == [int(rng.integers(0, 4)) for rng in rngs]  # 5 frames, span 2: start 0..3
    assert starts[0] != starts[1] != starts[2]
    assert starts[0] != [int(other_seed.train_dataset[(0, p)]["frame_indices"][0])
                         for p in range(8)]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_follows_set_epoch_in_workers(out, num_workers):
    dm = module(out, clip_length=2, batch_size=3, num_workers=num_workers, outputs=["depth"])
    loader = dm.train_dataloader()
    seen = {}
    for epoch in (0, 1):
        loader.sampler.set_epoch(epoch)  # what Lightning does at every epoch start
        seen[epoch] = {int(i): f.tolist() for batch in loader
                       for i, f in zip(batch["index"], batch["frame_indices"])}
        assert sorted(seen[epoch]) == list(range(8))
        for position, video in enumerate(dm.train_dataset.videos):
            expected = dm.train_dataset.frame_indices(position, epoch).tolist()
            assert seen[epoch][video.index] == expected
    assert seen[0] != seen[1]


def test_incomplete_videos_are_skipped_with_one_warning(copy):
    for stem in ("0003", "0004", "0005"):
        (copy / "train" / f"{stem}.json").unlink()
    (copy / "val" / "0009_color.mp4").write_bytes(b"truncated")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm = module(copy)
    messages = [str(w.message) for w in caught if "incomplete" in str(w.message)]
    assert messages == [
        f"skipping 4 incomplete video(s) of '{copy}': 0003-0005, 0009 (not rendered yet, failed, "
        "a file missing or of the wrong size, or recorded for another config or seed; "
        "`lightpipe verify` tells which)"]
    assert [v.index for v in dm.train_dataset.videos] == [0, 1, 2, 6, 7]
    assert [v.index for v in dm.val_dataset.videos] == [8]


BAD_ARGS = [
    ({"clip_length": 0}, r"^`clip_length` is 0; allowed: an integer >= 1\.$"),
    ({"frame_stride": 0}, r"^`frame_stride` is 0; allowed: an integer >= 1\.$"),
    ({"batch_size": 0}, r"^`batch_size` is 0; allowed: an integer >= 1\.$"),
    ({"num_workers": -1}, r"^`num_workers` is -1; allowed: an integer >= 0\.$"),
    ({"seed": -1}, r"^`seed` is -1; allowed: an integer >= 0\.$"),
    ({"size": (32,)}, r"^`size` is \(32,\); allowed: null \(native size\) or \[height, width\]"),
    ({"outputs": ["color", "sparkle"]},
     r"^`outputs` is \['color', 'sparkle'\]; allowed: names from: color, depth_vis, depth, "
     r"segmentation, normals.*\.\nHINT: 'sparkle' is not an output Lightpipe reads\.$"),
    ({"outputs": []}, r"^`outputs` is \[\]; allowed: a non-empty list of: color, depth"),
    ({"clip_length": 6},
     r"^`clip_length` is 6; allowed: at most 5 with frame_stride 1: the videos of '.*' have 5 "
     r"frames and a clip spans \(clip_length - 1\) \* frame_stride \+ 1 = 6\.\nHINT: lower "),
    ({"clip_length": 3, "frame_stride": 3},
     r"^`clip_length` is 3; allowed: at most 2 with frame_stride 3: .* have 5 frames and a clip "
     r"spans \(clip_length - 1\) \* frame_stride \+ 1 = 7\."),
]


@pytest.mark.parametrize("kwargs,message", BAD_ARGS)
def test_bad_arguments_are_named(out, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        GeneratedVideoDataModule(str(out), **kwargs)


def test_root_that_is_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match=(
            rf"^'{tmp_path}' is not a Lightpipe dataset: it has no dataset.json\.\nHINT: point it "
            r"at the `settings.output_dir` of a `lightpipe predict` run \(default: output\)\.$")):
        GeneratedVideoDataModule(str(tmp_path))
    with pytest.raises(DatasetError, match=r"^dataset root '.*/nowhere' is not a directory\."):
        GeneratedVideoDataModule(str(tmp_path / "nowhere"))


def test_unsupported_format_version(copy):
    info = json.loads((copy / "dataset.json").read_text())
    (copy / "dataset.json").write_text(json.dumps({**info, "format_version": 4}))
    with pytest.raises(DatasetError, match=(
            r"dataset.json has format_version 4; this Lightpipe reads format_version 1, 2, 3\.\n"
            r"HINT: read it with the Lightpipe version that wrote it \(0.1.0\), or regenerate")):
        GeneratedVideoDataModule(str(copy))


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_format_dataset_is_still_read(out, copy, version):
    """Format 1 (one keyframe per file, no `keyframe_interval` in the JSONs) and format 2 (no
    identity hash in the JSONs or dataset.json) read as before."""
    info = json.loads((copy / "dataset.json").read_text())
    info.pop("video_identity_sha256")
    (copy / "dataset.json").write_text(json.dumps({**info, "format_version": version}))
    for path in copy.glob("*/*.json"):
        meta = json.loads(path.read_text())
        meta.pop("identity_sha256")
        if version == 1:
            meta["video"].pop("keyframe_interval")
        path.write_text(json.dumps({**meta, "format_version": version}))
    assert json.loads((copy / "train" / "0001.json").read_text())["format_version"] == version
    old, new = module(copy), module(out)
    assert len(old.train_dataset) == 8 and old.train_dataset.videos[0].meta is not None
    assert torch.equal(old.train_dataset[(0, 1)]["color"], new.train_dataset[(0, 1)]["color"])


def test_requested_modality_missing(out):
    dm = GeneratedVideoDataModule(str(out), clip_length=2, outputs=["color", "segmentation"])
    with pytest.raises(DatasetError, match=(
            r"^`outputs` includes 'segmentation', but 8 train video\(s\) of '.*' do not have "
            r"it: 0000-0007 \(video 0000 has: color, depth_vis, depth\)\.\n"
            r"HINT: drop 'segmentation' from --data.outputs")):
        dm.setup("fit")


def test_no_complete_video_in_a_split(copy):
    shutil.rmtree(copy / "val")
    dm = GeneratedVideoDataModule(str(copy), clip_length=2)
    with pytest.warns(UserWarning, match="skipping 2 incomplete"):
        with pytest.raises(DatasetError, match=(
                r"has no complete val video \(of 2 planned\)\.\nHINT: finish the dataset")):
            dm.setup("fit")


def test_file_removed_after_setup(copy):
    dm = module(copy, outputs=["color", "depth"])
    (copy / "train" / "0001_depth.mkv").unlink()
    with pytest.raises(VideoReadError, match=r"0001_depth.mkv: file not found; the dataset "
                                             r"changed after it was indexed"):
        dm.train_dataset[1]


def test_extra_modalities_are_read_when_listed(copy):
    """A dataset whose JSON lists `segmentation` (gray16) and `normals` (RGB) files."""
    from lightpipe.atomic_io import file_digest
    from lightpipe.dataset.video_codec import H264Options, encode_gray16_ffv1, encode_rgb_h264

    ids = np.zeros((5, 64, 64), np.uint16)
    ids[:, :, 32:] = 3
    ids[:, 40:, :] = 700
    normals = np.full((5, 64, 64, 3), 128, np.uint8)
    for stem in ("0008", "0009"):
        meta_path = copy / "val" / f"{stem}.json"
        meta = json.loads(meta_path.read_text())
        encode_gray16_ffv1(copy / "val" / f"{stem}_seg.mkv", ids, 8)
        encode_rgb_h264(copy / "val" / f"{stem}_normals.mp4", normals, 8, H264Options())
        for name, modality in ((f"{stem}_seg.mkv", "segmentation"),
                               (f"{stem}_normals.mp4", "normals")):
            meta["files"][name] = {"modality": modality, **file_digest(copy / "val" / name)}
        meta_path.write_text(json.dumps(meta))
    dm = GeneratedVideoDataModule(str(copy), clip_length=2, size=(32, 48),
                                  outputs=["segmentation", "normals"])
    dm.setup("validate")
    item = dm.val_dataset[0]
    seg = item["segmentation"]
    assert seg.shape == (2, 1, 32, 48) and seg.dtype == torch.int64
    assert set(seg.unique().tolist()) == {0, 3, 700}  # nearest neighbour: no blended ids
    assert item["normals"].shape == (2, 3, 32, 48)
    assert torch.allclose(item["normals"], torch.full_like(item["normals"], 1 / 255), atol=2 / 255)


def test_training_side_never_imports_the_renderer_or_the_generator():
    import subprocess
    import sys

    code = ("import sys, lightpipe.commands.fit, lightpipe.commands.export, "
            "lightpipe.datamodule.training; "
            "print(sorted(m for m in sys.modules "
            "if m.startswith(('lightpipe.generation', 'lightpipe.render'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
