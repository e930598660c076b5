"""What a generation task tells its user: progress over its videos while it runs, a summary at
the end. On a terminal a tqdm bar (Lightning's own progress library), one per task; elsewhere
(SLURM logs, pipes) a plain line every PERIOD seconds, so logs are not flooded with bar frames.
"""

from __future__ import annotations

import sys
import threading
import time

from lightpipe import clock

PERIOD = 30.0  # seconds between plain progress lines


class Progress:
    """Counts this task's committed videos (thread-safe: encoder threads report)."""

    def __init__(self, rank: int, world: int, total: int, frames_per_video: int,
                 stream=None) -> None:
        self.rank, self.world, self.total = rank, world, total
        self.frames_per_video = frames_per_video
        self.stream = stream or sys.stdout
        self.done = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar = None
        if total and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, position=rank, unit="video", file=self.stream,
                             desc=f"task {rank}/{world}", dynamic_ncols=True,
                             bar_format="{desc}: {n}/{total} videos |{bar}| "
                                        "[{elapsed}<{remaining}, {rate_fmt}{postfix}]")

    def video_done(self) -> None:
        with self._lock:
            self.done += 1
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix_str(f"{self.done * self.frames_per_video} frames",
                                          refresh=False)
                return
            now = time.monotonic()
            if now - self._last_line >= PERIOD or self.done == self.total:
                self._last_line = now
                print(self.line(now), file=self.stream, flush=True)

    def line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (f"lightpipe task {self.rank}/{self.world}: {self.done}/{self.total} videos, "
                f"{self.done * self.frames_per_video} frames, {rate:.2f} videos/s, "
                f"ETA {format_seconds(eta)}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def task_summary(rank: int, world: int, rendered: str, failed: str, skipped: int,
                 frames: int, written_bytes: int, stopped: str) -> str:
    """One line per task: what it did, its frames, wall time since the process started (start-
    up included), throughput, bytes written."""
    wall = clock.wall_seconds()
    return (f"lightpipe task {rank}/{world}: rendered {rendered}, failed {failed}, skipped as "
            f"complete {skipped} (all tasks); {frames} frames in {format_seconds(wall)} wall "
            f"({frames / max(wall, 1e-9):.1f} frames/s), {format_bytes(written_bytes)} written"
            f"{stopped}")


def format_seconds(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
