"""The predict sampler: each rank iterates its contiguous block of the pending videos."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from torch.utils.data import DistributedSampler

from lightpipe.planning.assignment import contiguous_block
from lightpipe.preemption import StopFlag


class ContiguousDistributedSampler(DistributedSampler):
    """A DistributedSampler without shuffle or padding that yields one contiguous block per rank.

    It shards by itself: run it with Lightning's `use_distributed_sampler=False`, otherwise
    Lightning wraps it in a strided sampler and the videos are sharded twice.
    """

    def __init__(self, dataset: Sequence, num_replicas: int, rank: int,
                 stop: StopFlag | None = None) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False,
                         drop_last=False)
        self.block = contiguous_block(len(dataset), rank, num_replicas)
        self.num_samples = len(self.block)
        self.total_size = len(dataset)
        self.stop = stop if stop is not None else StopFlag()

    def __iter__(self) -> Iterator[int]:
        for position in self.block:
            if self.stop.requested:  # preemption: hand out no further videos
                return
            yield position

    def __len__(self) -> int:
        return len(self.block)
