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
