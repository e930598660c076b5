"""Work assignment: contiguous, even, disjoint blocks of the pending videos per task (pure)."""

from __future__ import annotations

from collections.abc import Sequence


def contiguous_block(num_items: int, rank: int, world_size: int) -> range:
    """Positions [start, stop) owned by `rank`: blocks differ in size by at most one.

    4 tasks x 80 items -> 0-19, 20-39, 40-59, 60-79; the first `num_items % world_size`
    ranks take one extra item.
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside a world of size {world_size}")
    base, extra = divmod(num_items, world_size)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (1 if rank < extra else 0))


def assign_tasks(pending: Sequence[int], world_size: int) -> list[list[int]]:
    """The global indices each task renders, for every rank."""
    return [[pending[p] for p in contiguous_block(len(pending), r, world_size)]
            for r in range(world_size)]
