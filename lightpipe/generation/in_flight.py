"""Several videos rendered at once by one task (`settings.render.videos_in_flight`).

On a CPU, one video's render leaves part of the machine idle: its serial stages (scene setup,
z-buffer, anti-aliasing, shadow maps) run on one thread while the shading uses all of them, and
every thread added to a kernel costs more CPU than the last. Two videos rendered side by side,
each on its share of the threads, keep the cores busy (the renderer's kernels release the GIL):
at 832x480 on 2 cores, two videos on one thread each render in 20 ms a frame where one video on
two threads takes 26-31, and `lightpipe predict` of 5 default videos takes 19.3-19.9 s instead
of 21.1-21.7 (docs/benchmarks.md). Each video is rendered exactly as alone, so the bytes are the
same whatever the number in flight. The default is 2: on 2 cores the default config then costs
33 ms a frame end to end where one at a time costs 42 (9 videos, docs/benchmarks.md).

`predict_step` starts a render in a render thread and goes on to the next video at once; the
render thread hands its result to the writer (`VideoWriter.accept`), waiting for a free encode
slot with its render slot held. At most `count` renders run (`submit` waits for a free one), so
memory holds at most `count` rendered or rendering videos besides the `max_pending_videos`
being encoded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import torch

from lightpipe import native_library


def videos_in_flight(setting: int, device: torch.device, compile_kernels: bool) -> int:
    """Renders at once for `settings.render.videos_in_flight` on `device`: the setting on a CPU,
    1 on a GPU (one video already fills it) and with compiled kernels (Inductor's compilation
    is not made to run in two threads at once)."""
    return 1 if device.type != "cpu" or compile_kernels else setting


class RenderAhead:
    """Up to `count` renders at once in threads, the CPU threads shared out among them.

    torch's intra-op threads are divided by `count` (at least 1 each: a render thread keeps
    the number it started with); the native kernels, most of a frame's CPU, divide them by the
    renders running at the moment, so the last video of a task gets every thread again once
    the others are done. `close` puts torch's number back."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._threads = torch.get_num_threads()
        torch.set_num_threads(max(1, self._threads // count))
        self._running = 0
        self._lock = threading.Lock()
        native_library.share_threads(self._share)
        self._slots = threading.BoundedSemaphore(count)
        self._pool = ThreadPoolExecutor(count, thread_name_prefix="lightpipe-render")
        self._futures: list[Future] = []  # until `close` has seen them end well

    def _share(self) -> tuple[int, int]:
        return max(1, self._threads // max(1, self._running)), self.count

    def submit(self, render: Callable, *args) -> Future:
        """`render(*args)` in a render thread, once one is free (this waits until then)."""
        self._slots.acquire()

        def run():
            with self._lock:
                self._running += 1
            try:
                return render(*args)
            finally:
                with self._lock:
                    self._running -= 1
                self._slots.release()

        future = self._pool.submit(run)
        self._futures = [f for f in self._futures if not f.done() or f.exception()] + [future]
        return future

    def close(self) -> None:
        """Wait for the renders, give the threads back, then raise the first error a render
        raised (where nobody asked its future)."""
        self._pool.shutdown(wait=True)
        native_library.share_threads(None)
        torch.set_num_threads(self._threads)
        futures, self._futures = self._futures, []
        for future in futures:
            future.result()
