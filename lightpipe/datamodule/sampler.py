"""Work assignment: contiguous, even, disjoint blocks of the pending videos per task."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from torch.utils.data import DistributedSampler


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


class ContiguousDistributedSampler(DistributedSampler):
    """A DistributedSampler without shuffle or padding that yields one contiguous block per rank.

    It shards by itself: run it with Lightning's `use_distributed_sampler=False`, otherwise
    Lightning wraps it in a strided sampler and the videos are sharded twice.
    """

    def __init__(self, dataset: Sequence, num_replicas: int, rank: int,
                 stop: threading.Event | None = None) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False,
                         drop_last=False)
        self.block = contiguous_block(len(dataset), rank, num_replicas)
        self.num_samples = len(self.block)
        self.total_size = len(dataset)
        self.stop = stop or threading.Event()

    def __iter__(self) -> Iterator[int]:
        for position in self.block:
            if self.stop.is_set():  # preemption: hand out no further videos
                return
            yield position

    def __len__(self) -> int:
        return len(self.block)
