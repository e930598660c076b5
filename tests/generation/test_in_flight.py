"""Videos rendered side by side (`settings.render.videos_in_flight`, `generation.in_flight`):
the renders overlap, no more than asked run at once, the threads are shared out and given
back, and the dataset's bytes are those of one video at a time."""

from __future__ import annotations

import threading

import pytest
import torch

from lightpipe import native_library
from lightpipe.generation.in_flight import RenderAhead, videos_in_flight

from conftest import run_lightpipe, tiny_config, tree_hashes


def test_videos_in_flight_is_the_setting_on_a_cpu_and_one_elsewhere():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert videos_in_flight(2, cpu, compile_kernels=False) == 2
    assert videos_in_flight(3, cpu, compile_kernels=False) == 3
    assert videos_in_flight(2, cuda, compile_kernels=False) == 1
    assert videos_in_flight(2, cpu, compile_kernels=True) == 1


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)
    native_library.share_threads(None)


def test_renders_overlap_at_most_count_run_and_threads_are_shared_then_given_back(two_threads):
    ahead = RenderAhead(2)
    assert torch.get_num_threads() == 1  # each render thread starts with its share
    together = threading.Barrier(2, timeout=30)  # broken unless two renders run at once
    lock, running, most, shares = threading.Lock(), [0], [0], []

    def render(k):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if k < 2:
            together.wait()  # the first two wait for each other: they overlap
            shares.append(native_library._SHARE())  # two running: one thread each
            together.wait()
        with lock:
            running[0] -= 1
        return k

    futures = [ahead.submit(render, k) for k in range(5)]
    assert [f.result() for f in futures] == list(range(5))
    assert most[0] == 2 and shares == [(1, 2), (1, 2)]
    alone = ahead.submit(lambda: native_library._SHARE()).result()
    assert alone == (2, 2)  # a render alone gets every thread for the native kernels
    ahead.close()
    assert torch.get_num_threads() == 2 and native_library._SHARE is None


def test_a_video_rendering_alone_shades_on_every_thread(two_threads):
    """The shading splits a frame by `native_library.threads()`: in a render thread (torch at
    its share, 1) of a video rendering alone it gets both threads, with another one."""
    from lightpipe.render import native

    ahead = RenderAhead(2)

    def parts_of_a_frame():
        seen = []
        native._interleaved(832 * 480, lambda part, parts: seen.append(parts) or 0)
        return torch.get_num_threads(), seen

    assert ahead.submit(parts_of_a_frame).result(timeout=30) == (1, [2, 2])
    together = threading.Barrier(2, timeout=30)

    def beside():
        together.wait()
        result = parts_of_a_frame()
        together.wait()
        return result

    futures = [ahead.submit(beside) for _ in range(2)]
    assert [f.result(timeout=30) for f in futures] == [(1, [1])] * 2
    ahead.close()


def test_native_calls_from_renders_side_by_side_share_one_pool_grown_under_a_lock(two_threads):
    """`native_library.parallel` from two render threads at once while its pool grows (a
    second video starts): every range is called once, each call's sum is its own, and the
    replaced pool is shut down (its threads end) instead of left behind."""
    native_library._POOL = None
    ranges, lock = [], threading.Lock()

    def call(a, b):
        with lock:
            ranges.append((a, b))
        return b - a

    native_library.share_threads(lambda: (2, 1))  # one render: a pool of 2
    assert native_library.parallel(64 * 1024, call, min_items=1024) == 64 * 1024
    first = native_library._POOL
    together, results = threading.Barrier(2, timeout=30), []

    def render(k):
        together.wait()
        if k:  # a second video starts: room for two callers
            native_library.share_threads(lambda: (2, 2))
        results.append([native_library.parallel(64 * 1024, call, min_items=1024)
                        for _ in range(50)])

    threads = [threading.Thread(target=render, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [[64 * 1024] * 50] * 2
    assert sorted(ranges) == sorted([(0, 32 * 1024), (32 * 1024, 64 * 1024)] * 101)
    assert native_library._POOL._max_workers == 4 and native_library._POOL is not first
    assert first._shutdown


def test_a_failing_render_frees_its_slot_and_close_raises_its_error(two_threads):
    ahead = RenderAhead(1)

    def fail():
        raise ValueError("bad video")

    with pytest.raises(ValueError, match="bad video"):
        ahead.submit(fail).result(timeout=30)
    assert ahead.submit(lambda: 7).result(timeout=30) == 7  # the slot came back
    with pytest.raises(ValueError, match="bad video"):  # an error is never lost
        ahead.close()
    assert torch.get_num_threads() == 2  # the threads came back all the same


@pytest.mark.e2e
def test_two_videos_in_flight_write_the_reference_dataset(reference, tmp_path):
    _, _, expected, _ = reference
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "out")
    run_lightpipe("predict", "--config", str(config), "--settings.render.videos_in_flight", "2")
    assert tree_hashes(tmp_path / "out") == expected
