"""The z-buffer's vocabulary, shared by the rasterizer, the shading and the native kernels:
pinhole `Intrinsics`, the int64 key of a covered pixel and its codec, and `take_columns`.

A key is `(float32 bits of 1/depth) << 32 | face` (positive 1/depth: its bits order as the
values, so the max key is the nearest surface), or EMPTY where nothing is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

EMPTY = -1  # key of an uncovered pixel: below every real key
FACE_BITS = 32
FACE_MASK = (1 << FACE_BITS) - 1


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float


def encode_keys(inverse_depth: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """int64 keys of float32 1/depth and int face (same shapes)."""
    bits = inverse_depth.view(torch.int32).to(torch.int64)
    return (bits << FACE_BITS) | face.to(torch.int64)


def key_inverse_depth(keys: torch.Tensor) -> torch.Tensor:
    """1/depth stored in z-buffer keys (float32), 0 where empty."""
    inverse_depth = (keys >> FACE_BITS).to(torch.int32).view(torch.float32)
    return torch.where(keys == EMPTY, torch.zeros_like(inverse_depth), inverse_depth)


def take_columns(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`table.index_select(-1, index)` (int64 index), as a gather: multithreaded on CPU."""
    return torch.gather(table, -1, index.expand(*table.shape[:-1], index.numel()))


def entries(table: torch.Tensor, index: torch.Tensor, transposed: bool) -> tuple:
    """Entries `index` of a table stored planar (rows, N) or, when `transposed`, (N, rows): a
    tuple of its rows at those entries (the same values either way)."""
    return table.index_select(0, index).unbind(1) if transposed \
        else take_columns(table, index).unbind(0)
