"""Batches collated into huge-page memory (`batches.collate_clips`): `default_collate`'s values,
shapes, dtypes and strides, on real items and on made-up ones."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import default_collate

from lightpipe.datamodule.batches import LARGE, collate_clips
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
