"""Batches of clips collated into huge-page memory in the main process.

A batch of two 832x480x16 clips (two RGB clips and depth as float32) is ~360 MB. torch's
`default_collate` stacks each key into a fresh tensor from torch's allocator, whose pages the
kernel maps 4 KiB at a time on first write: faulting them in costs more than copying the data.
NumPy asks the kernel for transparent huge pages on large buffers (`madvise`), so in the main
process (a DataLoader with 0 workers) large tensors are stacked into a NumPy buffer instead:
the same values, shape, dtype and strides as `default_collate`, the data copied once. Inside a
DataLoader worker, and for anything else, `default_collate` as before (workers stack into
shared memory for the trip to the main process).

With workers, the colour clips (`color`, `depth_vis` and a task item's `video`, where the clip
is not resized) make that trip as uint8, a quarter of the bytes, and `unit_floats` turns them
into floats in [0, 1] in the main process, into huge-page memory: the same values (x / 255 in
float32, as `outputs.images` computes them), the shared memory's 4 KiB page faults and a copy
saved in the workers.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, get_worker_info
from torch.utils.data._utils.collate import collate, collate_tensor_fn, default_collate_fn_map

LARGE = 1 << 22  # bytes of one item's tensor from which a buffer of its own pays off
UNIT_RGB_OUTPUTS = ("color", "depth_vis")  # outputs whose tensors are RGB clips in [0, 1]
UNIT_RGB_KEYS = (*UNIT_RGB_OUTPUTS, "video")  # and a task item's copy of the colour clip


def collate_clips(batch: list):
    """`default_collate`, with large tensors stacked into huge-page memory in the main
    process."""
    return collate(batch, collate_fn_map=_RULES)


def _stack(batch: list[torch.Tensor], *, collate_fn_map=None) -> torch.Tensor:
    elem = batch[0]
    if get_worker_info() is not None or not _fits(batch):
        return collate_tensor_fn(batch, collate_fn_map=collate_fn_map)
    n = elem.numel()
    buffer = torch.from_numpy(np.empty(len(batch) * n, _numpy_dtype(elem.dtype)))
    out = buffer.as_strided((len(batch), *elem.shape), (n, *elem.stride()))  # as torch.stack
    return torch.stack(batch, 0, out=out)


def _fits(batch: list[torch.Tensor]) -> bool:
    """Large CPU tensors of one shape, dtype and dense layout (a permutation of contiguous,
    e.g. channels-last clips), of a dtype NumPy holds."""
    elem = batch[0]
    if (elem.device.type != "cpu" or elem.is_nested or elem.layout != torch.strided
            or elem.numel() * elem.element_size() < LARGE or _numpy_dtype(elem.dtype) is None):
        return False
    order = sorted(range(elem.dim()), key=lambda d: elem.stride(d), reverse=True)
    if not elem.permute(order).is_contiguous():
        return False
    return all(t.shape == elem.shape and t.dtype == elem.dtype and t.stride() == elem.stride()
               and t.device == elem.device for t in batch)


def _numpy_dtype(dtype: torch.dtype):
    try:
        return torch.empty(0, dtype=dtype).numpy().dtype
    except (TypeError, RuntimeError):  # bfloat16 and others NumPy has no type for
        return None


_RULES = {**default_collate_fn_map, torch.Tensor: _stack}


def unit_floats(batch):
    """A batch from DataLoader workers with its uint8 colour clips (`UNIT_RGB_KEYS`) as float32
    x / 255, in NumPy (huge-page) memory, the same shape and strides; other values as they are."""
    if not isinstance(batch, dict):
        return batch
    for key in UNIT_RGB_KEYS:
        value = batch.get(key)
        if isinstance(value, torch.Tensor) and value.dtype == torch.uint8:
            order = sorted(range(value.dim()), key=lambda d: value.stride(d), reverse=True)
            dense = value.permute(order)
            floats = torch.from_numpy(np.empty(tuple(dense.shape), np.float32))
            floats.copy_(dense).div_(255.0)
            batch[key] = floats.permute([order.index(d) for d in range(value.dim())])
    return batch


class ClipLoader(DataLoader):
    """A DataLoader whose batches from workers pass through `unit_floats` in the main process
    (the DataModule's loaders; the same arguments as DataLoader)."""

    def __iter__(self):
        batches = super().__iter__()
        return batches if self.num_workers == 0 else _Floats(batches)


class _Floats:
    """The worker batches of a DataLoader's iterator, through `unit_floats`."""

    def __init__(self, batches) -> None:
        self.batches = batches

    def __iter__(self):
        return self

    def __next__(self):
        return unit_floats(next(self.batches))

    def __len__(self) -> int:
        return len(self.batches)
