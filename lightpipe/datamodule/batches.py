"""Batches of clips collated into huge-page memory in the main process.

A batch of two 832x480x16 clips (two RGB clips and depth as float32) is ~360 MB. torch's
`default_collate` stacks each key into a fresh tensor from torch's allocator, whose pages the
kernel maps 4 KiB at a time on first write: faulting them in costs more than copying the data.
NumPy asks the kernel for transparent huge pages on large buffers (`madvise`), so in the main
process (a DataLoader with 0 workers) large tensors are stacked into a NumPy buffer instead:
the same values, shape, dtype and strides as `default_collate`, the data copied once. Inside a
DataLoader worker, and for anything else, `default_collate` as before (workers stack into
shared memory for the trip to the main process).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import get_worker_info
from torch.utils.data._utils.collate import collate, collate_tensor_fn, default_collate_fn_map

LARGE = 1 << 22  # bytes of one item's tensor from which a buffer of its own pays off


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
