"""Batches collated into huge-page memory (`batches.collate_clips`): `default_collate`'s values,
shapes, dtypes and strides, on real items and on made-up ones; the loader's recycled memory
(`batches.Buffers`) never changes a batch anybody holds."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from lightpipe.datamodule import batches
from lightpipe.datamodule.batches import LARGE, Buffers, collate_clips
from lightpipe.datamodule.training import GeneratedVideoDataModule


def assert_same_batch(a, b):
    assert type(a) is type(b)
    if isinstance(a, torch.Tensor):
        assert (a.shape, a.dtype, a.stride()) == (b.shape, b.dtype, b.stride())
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same_batch(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_batch(x, y)
    else:
        assert a == b


def test_real_items_collate_as_default_collate(tiny_dataset):
    dm = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=3,
                                  outputs=["color", "depth", "depth_vis"])
    dm.setup("fit")
    items = [dm.train_dataset[(0, p)] for p in range(3)]
    assert_same_batch(collate_clips(items), default_collate(items))


def test_large_tensors_of_any_layout_collate_as_default_collate():
    rng = np.random.default_rng(1)
    side = int(np.sqrt(LARGE // 4)) + 8  # float32 items just over LARGE
    rgb = [torch.from_numpy(rng.random((2, side, side, 3), dtype=np.float32)) for _ in range(2)]
    cases = {
        "channels_last": [t.permute(0, 3, 1, 2) for t in rgb],  # what RGB clips are
        "contiguous": [t.permute(0, 3, 1, 2).contiguous() for t in rgb],
        "strided": [t[:, ::2] for t in rgb],  # not dense: default_collate's own path
        "uint16": [torch.from_numpy(rng.integers(0, 65535, (side, side, 3), dtype=np.uint16))
                   for _ in range(2)],
        "mixed": [rgb[0].permute(0, 3, 1, 2), rgb[1].permute(0, 3, 1, 2).contiguous()],
        "small": [torch.arange(6.0).reshape(2, 3)] * 3,
    }
    for name, batch in cases.items():
        items = [{"x": t, "i": k} for k, t in enumerate(batch)]
        assert_same_batch(collate_clips(items), default_collate(items))


def test_buffers_reuse_an_array_only_once_nothing_else_refers_to_it():
    buffers = Buffers(limit=3)
    first = buffers.empty((4, 5))
    held = id(first)
    assert id(buffers.empty((4, 5))) != held  # `first` is still referred to
    del first
    assert id(buffers.empty((4, 5))) == held  # free again
    tensor = torch.from_numpy(buffers.empty((4, 5)))
    view = tensor.permute(1, 0)[1:]
    del tensor
    assert id(buffers.empty((4, 5))) != held  # a view of its tensor holds it
    as_numpy = view.numpy()
    del view
    assert id(buffers.empty((4, 5))) != held  # and so does `.numpy()` of that view
    del as_numpy
    assert id(buffers.empty((4, 5))) == held
    assert buffers.empty((4, 5), np.uint8).dtype == np.uint8  # a kind of its own
    assert len(buffers.arrays) <= 3
    keep = [buffers.empty((2,)) for _ in range(5)]  # more in use than the limit: fresh ones
    assert len({id(a) for a in keep}) == 5 and len(buffers.arrays) == 3
    assert pickle.loads(pickle.dumps(buffers)).arrays == []  # a worker's copy starts empty


@pytest.mark.parametrize("workers", [0, 1])
def test_loader_batches_in_recycled_memory_are_the_batches_and_stay_intact(
        tiny_dataset, monkeypatch, workers):
    """Every tensor in the large-tensor paths (LARGE = 0): the DataModule's batches equal
    `default_collate` of its items (values, shapes, dtypes and strides),
    whether the batches are held or dropped as the loader goes on, and dropped batches'
    memory is used again."""
    monkeypatch.setattr(batches, "LARGE", 0)  # (workers fork from this process)
    dm = GeneratedVideoDataModule(str(tiny_dataset[1]), clip_length=3, num_workers=workers,
                                  outputs=["color", "depth", "depth_vis"], batch_size=2)
    dm.setup("fit")
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(2)
    keys = list(loader.batch_sampler)
    expected = [default_collate([dm.train_dataset[k] for k in batch]) for batch in keys]
    places, dropped = set(), []
    for batch in loader:  # each dropped as the next comes: its memory is used again
        places.add(batch["color"].data_ptr())
        dropped.append({k: v.clone() if isinstance(v, torch.Tensor) else v
                        for k, v in batch.items()})
    assert len(keys) >= 3 and len(places) <= 2  # the batch in hand and the one being made
    held = list(loader)  # every batch held: none may share memory with another
    assert len({batch["color"].data_ptr() for batch in held}) == len(keys)
    for got in (dropped, held):
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            for key in b:
                if isinstance(b[key], torch.Tensor):
                    assert (a[key].shape, a[key].dtype) == (b[key].shape, b[key].dtype), key
                    assert torch.equal(a[key], b[key]), key
                    assert a[key].stride() == b[key].stride(), key
                else:
                    assert a[key] == b[key], key
    assert len(loader.buffers.arrays) <= loader.buffers.limit
