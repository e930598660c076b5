"""Work assignment: even, disjoint, contiguous blocks of the pending videos per task."""

import pytest

from lightpipe.planning.assignment import assign_tasks, contiguous_block


def test_seed_tables_80_videos():
    assert assign_tasks(list(range(80)), 4) == [list(range(s, s + 20)) for s in (0, 20, 40, 60)]
    assert assign_tasks(list(range(80)), 8) == [list(range(s, s + 10)) for s in range(0, 80, 10)]


@pytest.mark.parametrize("items,world", [(10, 3), (7, 4), (3, 5), (0, 2), (81, 8)])
def test_blocks_are_even_disjoint_contiguous_and_complete(items, world):
    blocks = [contiguous_block(items, r, world) for r in range(world)]
    assert [i for b in blocks for i in b] == list(range(items))
    sizes = [len(b) for b in blocks]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)


def test_blocks_over_pending_indices():
    pending = [1, 2, 5, 6, 7, 9]
    assert assign_tasks(pending, 2) == [[1, 2, 5], [6, 7, 9]]


def test_bad_rank_is_rejected():
    with pytest.raises(ValueError, match="rank 3 is outside a world of size 3"):
        contiguous_block(10, 3, 3)
