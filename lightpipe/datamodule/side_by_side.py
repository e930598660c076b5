"""A clip's outputs decoded side by side when the DataLoader has no workers.

With `num_workers=0` the main process builds every item alone, one output file after the other,
on one core. PyAV releases the GIL while it decodes a packet and while swscale converts a frame
(`avcodec_send_packet` / `avcodec_receive_frame` / `sws_scale_frame` run `nogil`), and torch
releases it in its tensor kernels, so reading each output in a thread of its own uses the other
cores for the same item. Each output file is still decoded by one FFmpeg thread, from the same
packets, so the arrays are the same as read one after the other (tests compare them).

Inside a DataLoader worker the outputs are read one after the other as before: the workers
already keep the cores busy, one item each.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from torch.utils.data import get_worker_info

T = TypeVar("T")

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (owner pid, pool): a fork makes its own


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def map_outputs(read: Callable[[str], T], names: Sequence[str],
                threads: int | None = None) -> dict[str, T]:
    """{name: read(name)} for `names`, side by side in up to `threads` threads (default: the
    usable cores) in the main process, one after the other inside a DataLoader worker or with
    one thread. Submitted in the order of `names`; an exception of any read is raised."""
    threads = usable_cores() if threads is None else threads
    if threads < 2 or len(names) < 2 or get_worker_info() is not None:
        return {name: read(name) for name in names}
    pool = _shared_pool(threads)
    futures = {name: pool.submit(read, name) for name in names}
    return {name: future.result() for name, future in futures.items()}


def _shared_pool(threads: int) -> ThreadPoolExecutor:
    """One pool per process, kept (its idle threads cost nothing); renewed after a fork, whose
    child inherits the pool object but not its threads, or when more threads are asked for."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1]._max_workers < threads:
            if _pool is not None and _pool[0] == os.getpid():
                _pool[1].shutdown(wait=False)  # its running reads finish; new ones go to the new
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=threads,
                                                     thread_name_prefix="lightpipe-output"))
        return _pool[1]
