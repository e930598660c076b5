"""Train/val samplers of GeneratedVideoDataModule at world sizes 1..4 (ranks simulated)."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from torch.utils.data import DistributedSampler

from lightpipe.datamodule.training import EpochKeySampler, GeneratedVideoDataModule
from lightpipe.dataset.index import DatasetError


@pytest.fixture(scope="module")
def datamodule(tiny_dataset):
    dm = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=2, outputs=["depth"])
    dm.setup("fit")
    return dm


def loaders(dm, world: int, kind: str):
    """The real dataloaders each rank would build; only the Trainer's rank facts are stubbed."""
    result = []
    for rank in range(world):
        dm.trainer = SimpleNamespace(world_size=world, global_rank=rank)
        result.append(dm.train_dataloader() if kind == "train" else dm.val_dataloader())
    dm.trainer = None
    return result


@pytest.mark.parametrize("world", [1, 2])
def test_val_sees_every_video_exactly_once(datamodule, world):
    seen = [[int(i) for batch in loader for i in batch["index"]]
            for loader in loaders(datamodule, world, "val")]
    assert sorted(i for rank in seen for i in rank) == [8, 9]
    assert seen == ([[8, 9]] if world == 1 else [[8], [9]])


@pytest.mark.parametrize("world,videos", [(2, 3), (3, 7), (4, 5), (4, 4)])
def test_val_sampler_never_pads(datamodule, world, videos):
    """More sizes than the 2 val videos: the same sampler class over the train split's videos."""
    dataset = datamodule.train_dataset
    keep = dataset.videos
    dataset.videos = keep[:videos]
    try:
        datamodule.val_dataset, saved = dataset, datamodule.val_dataset
        per_rank = [list(loader.sampler) for loader in loaders(datamodule, world, "val")]
    finally:
        dataset.videos, datamodule.val_dataset = keep, saved
    flat = [p for rank in per_rank for p in rank]
    assert sorted(flat) == list(range(videos))  # each exactly once, no padding duplicates
    assert max(map(len, per_rank)) - min(map(len, per_rank)) <= 1


def test_more_processes_than_val_videos_is_a_clear_error(datamodule):
    with pytest.raises(DatasetError, match=(
            r"has 2 complete val video\(s\), fewer than the 3 processes; each process needs at "
            r"least one\.\nHINT: use fewer devices")):
        loaders(datamodule, 3, "val")


@pytest.mark.parametrize("world", [1, 2, 3])
def test_train_sampler_is_a_seeded_distributed_sampler_with_epoch_keys(datamodule, world):
    per_rank = loaders(datamodule, world, "train")
    samplers = [loader.sampler for loader in per_rank]
    assert all(isinstance(s, EpochKeySampler) and isinstance(s, DistributedSampler)
               for s in samplers)  # so Lightning never wraps it in a second DistributedSampler
    for epoch in (0, 5):
        for sampler in samplers:
            sampler.set_epoch(epoch)
        keys = [list(s) for s in samplers]
        assert all(key[0] == epoch for rank in keys for key in rank)
        positions = [key[1] for rank in keys for key in rank]
        assert set(positions) == set(range(8))
        assert len({len(rank) for rank in keys}) == 1  # padded: every rank runs as many steps
        assert len(positions) == -(-8 // world) * world
    samplers[0].set_epoch(0)
    order0 = [k[1] for k in samplers[0]]
    samplers[0].set_epoch(1)
    assert order0 != [k[1] for k in samplers[0]]  # shuffled anew each epoch


def test_setup_validate_builds_only_val(tiny_dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset[1], root)
    shutil.rmtree(root / "train")  # not needed for validation
    dm = GeneratedVideoDataModule(str(root), clip_length=2)
    dm.setup("validate")
    assert dm.train_dataset is None and len(dm.val_dataset) == 2
