"""A clip's outputs read side by side in the main process (`side_by_side`): the same items as
read one after the other, and as a DataLoader worker builds them."""

from __future__ import annotations

import functools
import threading

import pytest
import torch

import lightpipe.datamodule.clips as clips
from lightpipe.datamodule.side_by_side import map_outputs
from lightpipe.datamodule.training import GeneratedVideoDataModule

ALL = ["color", "depth", "depth_vis"]


def test_map_outputs_keeps_the_order_and_uses_threads():
    names = ["a", "b", "c", "d"]
    seen = {}

    def read(name):
        seen[name] = threading.get_ident()
        return name * 2

    assert map_outputs(read, names, threads=2) == {n: n * 2 for n in names}
    assert list(map_outputs(read, names, threads=2)) == names
    assert threading.get_ident() not in seen.values()
    assert map_outputs(read, names, threads=1) == {n: n * 2 for n in names}
    assert set(seen.values()) == {threading.get_ident()}  # threads=1: in the caller


def test_map_outputs_raises_a_read_error():
    def read(name):
        if name == "bad":
            raise ValueError("bad output")
        return name

    with pytest.raises(ValueError, match="bad output"):
        map_outputs(read, ["ok", "bad"], threads=2)


def items(dataset, keys):
    return [dataset[key] for key in keys]


def assert_same_items(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert list(x) == list(y)
        for key in x:
            if isinstance(x[key], torch.Tensor):
                assert x[key].dtype == y[key].dtype and torch.equal(x[key], y[key]), key
            else:
                assert x[key] == y[key], key


def test_items_side_by_side_are_the_items_read_one_after_the_other(tiny_dataset, monkeypatch):
    dm = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=3, outputs=ALL)
    dm.setup("fit")
    keys = [(epoch, position) for epoch in (0, 1) for position in range(len(dm.train_dataset))]
    side_by_side = items(dm.train_dataset, keys)
    monkeypatch.setattr(clips, "map_outputs", functools.partial(map_outputs, threads=1))
    assert_same_items(side_by_side, items(dm.train_dataset, keys))


def test_main_process_batches_are_the_worker_batches(tiny_dataset):
    """0 workers (side by side) and 1 worker (one after the other) give the same batches."""
    batches = {}
    for workers in (0, 1):
        dm = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=3, outputs=ALL,
                                      batch_size=3, num_workers=workers)
        dm.setup("fit")
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(1)
        batches[workers] = list(loader)
    assert_same_items(batches[0], batches[1])


def test_colour_clips_travel_from_workers_as_bytes_and_arrive_as_the_same_floats(tiny_dataset):
    """With workers the loader's copy of the dataset gives uint8 colour clips (a quarter of the
    shared memory), made floats in the main process; the DataModule's own dataset, a resized
    clip and the batches are floats as always."""
    dm = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=3, outputs=ALL,
                                  batch_size=2, num_workers=1)
    dm.setup("fit")
    loader = dm.train_dataloader()
    assert loader.dataset.unit_rgb_as_bytes and not dm.train_dataset.unit_rgb_as_bytes
    travelling, item = loader.dataset[(0, 0)], dm.train_dataset[(0, 0)]
    for key in ("color", "depth_vis"):
        assert travelling[key].dtype == torch.uint8 and item[key].dtype == torch.float32
        assert torch.equal(travelling[key].float().div_(255.0), item[key])
    assert travelling["depth"].dtype == torch.float32
    batch = next(iter(loader))
    assert batch["color"].dtype == batch["depth_vis"].dtype == torch.float32
    assert 0.0 <= float(batch["color"].min()) and float(batch["color"].max()) <= 1.0
    resized = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=3, outputs=ALL,
                                       num_workers=1, size=(16, 24))
    resized.setup("fit")
    assert resized.train_dataloader().dataset[(0, 0)]["color"].dtype == torch.float32
