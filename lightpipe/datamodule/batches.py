"""Batches of clips collated into huge-page memory in the main process.

A batch of two 832x480x16 clips (two RGB clips and depth as float32) is ~360 MB. torch's
`default_collate` stacks each key into a fresh tensor from torch's allocator, whose pages the
kernel maps 4 KiB at a time on first write: faulting them in costs more than copying the data.
NumPy asks the kernel for transparent huge pages on large buffers (`madvise`), so in the main
process (a DataLoader with 0 workers) large tensors are stacked into a NumPy buffer instead:
the same values, shape, dtype and strides as `default_collate`, the data copied once. Inside a
DataLoader worker large tensors are stacked into shared memory for the trip to the main
process (as `default_collate` does), and anything else goes through `default_collate`.

With workers, the colour clips (`color`, `depth_vis` and a task item's `video`, where the clip
is not resized: `Output.unit_rgb`) make that trip as uint8, a quarter of the bytes, and
`unit_floats` turns them into floats in [0, 1] in the main process: the same values (x / 255
in float32, as `outputs.images` computes them), the shared memory's 4 KiB page faults and a
copy saved in the workers. Workers stack clips in the items' own layout (channels-last stays
so: a copy of whole blocks, not a byte-wise transpose).

The main process's arrays come from the loader's `Buffers`: a batch's array is used again once
nothing refers to it any more, so the main process does not fault in (the kernel zeroing)
150-360 MB of fresh pages a batch.
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
import torch
from torch.utils.data import DataLoader, get_worker_info
from torch.utils.data._utils.collate import collate, collate_tensor_fn, default_collate_fn_map

from lightpipe.dataset.outputs import REGISTRY

LARGE = 1 << 22  # bytes of one item's tensor from which a buffer of its own pays off
# the outputs whose item tensors are RGB clips in [0, 1] (`Output.unit_rgb`), and a task
# item's copy of the colour clip
UNIT_RGB_KEYS = (*(name for name, output in REGISTRY.items() if output.unit_rgb), "video")


def collate_clips(batch: list, buffers: Buffers | None = None):
    """`default_collate`, with large tensors stacked into huge-page memory in the main process:
    arrays of `buffers` where given, else fresh ones."""
    rules = _RULES if buffers is None else {**_RULES, torch.Tensor: partial(_stack,
                                                                           buffers=buffers)}
    return collate(batch, collate_fn_map=rules)


def _stack(batch: list[torch.Tensor], *, collate_fn_map=None, buffers: Buffers | None = None
           ) -> torch.Tensor:
    elem = batch[0]
    if not _fits(batch):
        return collate_tensor_fn(batch, collate_fn_map=collate_fn_map)
    n = elem.numel()
    if get_worker_info() is not None:  # shared memory for the trip, as `collate_tensor_fn`
        buffer = elem.new(elem._typed_storage()._new_shared(len(batch) * n, device=elem.device))
    else:
        dtype = _numpy_dtype(elem.dtype)
        buffer = torch.from_numpy(np.empty(len(batch) * n, dtype) if buffers is None
                                  else buffers.empty((len(batch) * n,), dtype))
    # torch.stack's layout (the items' own: channels-last clips stay so, a copy of whole
    # blocks), worked out on meta tensors
    layout = torch.stack([elem.to("meta")] * len(batch), 0)
    out = buffer.as_strided(layout.shape, layout.stride())
    return torch.stack(batch, 0, out=out)


def _fits(batch: list[torch.Tensor]) -> bool:
    """Large CPU tensors of one shape, dtype and dense layout (a permutation of contiguous,
    e.g. channels-last clips), of a dtype NumPy holds."""
    elem = batch[0]
    if (elem.device.type != "cpu" or elem.is_nested or elem.layout != torch.strided
            or elem.numel() * elem.element_size() < LARGE or _numpy_dtype(elem.dtype) is None):
        return False
    if not elem.permute(_memory_order(elem)).is_contiguous():
        return False
    return all(t.shape == elem.shape and t.dtype == elem.dtype and t.stride() == elem.stride()
               and t.device == elem.device for t in batch)


def _memory_order(tensor: torch.Tensor) -> list[int]:
    """The dimensions from the largest stride to the smallest: the permutation under which a
    dense tensor is contiguous."""
    return sorted(range(tensor.dim()), key=lambda d: tensor.stride(d), reverse=True)


def _numpy_dtype(dtype: torch.dtype):
    try:
        return torch.empty(0, dtype=dtype).numpy().dtype
    except (TypeError, RuntimeError):  # bfloat16 and others NumPy has no type for
        return None


_RULES = {**default_collate_fn_map, torch.Tensor: _stack}


def unit_floats(batch, buffers: Buffers | None = None):
    """A batch from DataLoader workers with its uint8 colour clips (`UNIT_RGB_KEYS`) as float32
    x / 255, in NumPy (huge-page) memory, the same shape and strides; other values as they are.
    `buffers`: where the float arrays come from (default: fresh ones)."""
    if not isinstance(batch, dict):
        return batch
    for key in UNIT_RGB_KEYS:
        value = batch.get(key)
        if isinstance(value, torch.Tensor) and value.dtype == torch.uint8:
            order = _memory_order(value)
            dense = value.permute(order)
            shape = tuple(dense.shape)
            array = np.empty(shape, np.float32) if buffers is None else buffers.empty(shape)
            floats = torch.from_numpy(array)
            floats.copy_(dense).div_(255.0)
            batch[key] = floats.permute([order.index(d) for d in range(value.dim())])
    return batch


class Buffers:
    """Arrays for batches, each used again once nothing but this pool refers to it.

    A tensor made by `torch.from_numpy` holds its array until its storage is freed (views,
    `.numpy()` of it and slices included), so an array whose only reference is the pool's is
    free, and reusing it changes nothing anybody holds. At most `limit` arrays are kept (about
    three batches of clips: the one being made, the one a training step holds and the one
    Lightning fetched ahead); while more are in use, new ones are fresh and not kept. A copy
    (pickled into DataLoader workers) starts empty.
    """

    def __init__(self, limit: int = 12) -> None:
        self.limit, self.arrays = limit, []

    def __reduce__(self):
        return Buffers, (self.limit,)

    def empty(self, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
        dtype = np.dtype(dtype)
        for position in range(len(self.arrays)):
            # references: the list's and getrefcount's argument
            if sys.getrefcount(self.arrays[position]) == 2:
                if self.arrays[position].shape == shape and self.arrays[position].dtype == dtype:
                    return self.arrays[position]
                if len(self.arrays) >= self.limit:  # a free one of another kind makes room
                    del self.arrays[position]
                    break
        array = np.empty(shape, dtype)
        if len(self.arrays) < self.limit:
            self.arrays.append(array)
        return array


class ClipLoader(DataLoader):
    """A DataLoader whose batches are made in recycled memory (`Buffers`): collated by
    `collate_clips` unless given another `collate_fn`, and with workers passed through
    `unit_floats` in the main process (the DataModule's loaders; the same arguments as
    DataLoader)."""

    def __init__(self, *args, **kwargs) -> None:
        buffers = Buffers()
        if kwargs.get("collate_fn") is None:
            kwargs["collate_fn"] = partial(collate_clips, buffers=buffers)
        super().__init__(*args, **kwargs)
        self.buffers = buffers

    def __iter__(self):
        batches = super().__iter__()
        return batches if self.num_workers == 0 else _Floats(batches, self.buffers)


class _Floats:
    """The worker batches of a DataLoader's iterator, through `unit_floats`."""

    def __init__(self, batches, buffers: Buffers) -> None:
        self.batches, self.buffers = batches, buffers

    def __iter__(self):
        return self

    def __next__(self):
        return unit_floats(next(self.batches), self.buffers)

    def __len__(self) -> int:
        return len(self.batches)
