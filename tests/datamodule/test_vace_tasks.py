"""`GeneratedVideoDataModule(tasks=[...])`: a VACE task per item, computed on the fly from the
stored ground truth, deterministic per (seed, epoch, index)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightpipe.datamodule import GeneratedVideoDataModule
from lightpipe.dataset.index import DatasetError
from lightpipe.dataset.vace.controls import MASKED_GREY, MISSING_GREY
from lightpipe.dataset.vace.tasks import TASKS
from lightpipe.errors import ConfigError


@pytest.fixture(scope="module")
def root(ground_truth_dataset):
    return ground_truth_dataset[1]


def _module(root, **kwargs):
    module = GeneratedVideoDataModule(str(root), clip_length=3, outputs=["color"], seed=5,
                                      **kwargs)
    module.setup("fit")
    return module


def test_items_hold_a_task_its_control_and_mask_the_same_for_the_same_seed_epoch_index(root):
    data = _module(root, tasks=list(TASKS))
    dataset = data.train_dataset
    drawn = set()
    for epoch in range(6):
        for position in range(len(dataset)):
            item = dataset[(epoch, position)]
            drawn.add(item["task"])
            assert item["video"].shape == item["control"].shape == (3, 3, 64, 64)
            assert item["mask"].shape == (3, 1, 64, 64)
            assert torch.equal(item["video"], item["color"])
            again = dataset[(epoch, position)]
            assert again["task"] == item["task"]
            assert torch.equal(again["control"], item["control"])
            assert torch.equal(again["mask"], item["mask"])
            generate = item["mask"][:, 0] == 1
            task = TASKS[item["task"]]
            if not task.masked:
                assert generate.all()
            elif item["task"].endswith("frame") or item["task"] == "reference":
                # extension: whole grey frames; reference: VACE's empty source
                grey = item["control"].permute(0, 2, 3, 1)[generate]
                assert torch.all(grey == MISSING_GREY / 255.0)
                assert generate.all() == (item["task"] == "reference")
            else:
                grey = item["control"].permute(0, 2, 3, 1)[generate]
                assert grey.numel() and torch.all(grey == MASKED_GREY / 255.0)
            assert item["has_reference"] == (item["task"] == "reference")
            assert item["reference"].shape == (3, 64, 64)
            assert (item["reference"] == 1).all() != item["has_reference"]
    assert len(drawn) >= 6  # tasks vary over items and epochs


def test_the_reference_item_is_the_drawn_objects_stored_reference(root):
    from lightpipe.datamodule.clips import CropGeometry
    from lightpipe.dataset.index import DatasetIndex
    from lightpipe.dataset.outputs import REGISTRY

    data = _module(root, tasks=["reference"], size=(32, 48))
    index = DatasetIndex.open(root)
    records = {v.index: v for v in index.complete_videos(("train",))[0]["train"]}
    for position in range(len(data.train_dataset)):
        item = data.train_dataset[(0, position)]
        assert item["task"] == "reference" and item["has_reference"]
        assert item["reference"].shape == (3, 32, 48) and item["mask"].eq(1).all()
        video = records[int(item["index"])]
        stored = REGISTRY["references"].read(video.modalities, video.meta)
        tensors = REGISTRY["references"].tensors(stored, CropGeometry.fit(video.meta.size,
                                                                           (32, 48)))
        # the item's reference is one of the video's stored references, resized as the clip
        assert any(torch.equal(item["reference"], image) for image in tensors["references"])


def test_resized_items_and_a_stride_keep_the_task_tensors_aligned(root):
    data = _module(root, tasks=["inpainting_masktrack", "outpainting"], size=(32, 48))
    item = data.train_dataset[(1, 0)]
    assert item["control"].shape == (3, 3, 32, 48) and item["mask"].shape == (3, 1, 32, 48)
    assert set(torch.unique(item["mask"]).tolist()) <= {0.0, 1.0}


def test_bad_tasks_are_refused_with_their_names(root, tiny_dataset):
    with pytest.raises(ConfigError, match="'sketch' is not a VACE task"):
        GeneratedVideoDataModule(str(root), tasks=["depth", "sketch"])
    with pytest.raises(ConfigError, match="frame_stride"):
        GeneratedVideoDataModule(str(root), clip_length=2, frame_stride=2, tasks=["flow"])
    module = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=3, tasks=["flow"])
    with pytest.raises(DatasetError, match="needs the 'flow' output"):
        module.setup("fit")


def test_the_flow_control_of_a_clip_repeats_its_first_image(root):
    data = _module(root, tasks=["flow"])
    item = data.train_dataset[(0, 0)]
    assert item["task"] == "flow"
    assert torch.equal(item["control"][0], item["control"][1])
    assert np.isclose(float(item["mask"].min()), 1.0)
