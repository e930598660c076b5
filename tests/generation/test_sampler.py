"""The predict sampler: each rank iterates its block; a stop request ends the iteration."""

from lightpipe.generation.sampler import ContiguousDistributedSampler
from lightpipe.preemption import StopFlag


def test_sampler_yields_its_block_only():
    data = list(range(10))
    got = [list(ContiguousDistributedSampler(data, num_replicas=3, rank=r)) for r in range(3)]
    assert got == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert [len(ContiguousDistributedSampler(data, 3, r)) for r in range(3)] == [4, 3, 3]


def test_a_stop_request_hands_out_no_further_videos():
    stop = StopFlag()
    sampler = ContiguousDistributedSampler(list(range(10)), num_replicas=2, rank=1, stop=stop)
    handed = []
    for position in sampler:
        handed.append(position)
        if position == 6:
            stop.request("SIGUSR1 received")
    assert handed == [5, 6]
    assert stop.reason == "SIGUSR1 received"
