"""Deterministic pauses for the tests that signal or kill a run mid-way.

`LIGHTPIPE_FAULT=gate@N` (lightpipe.generation.faults) holds the task that renders video N until
the test opens the gate, so the test acts while video N is known to be rendering, instead of
guessing with a stall how long the run takes. Every wait has a deadline and fails by name: a
slow machine fails clearly instead of acting at the wrong moment.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

DEADLINE_S = 240.0


def wait_until(condition: Callable[[], bool], what: str, proc: subprocess.Popen | None = None,
               seconds: float = DEADLINE_S) -> None:
    """Poll `condition`; fail naming `what` if the run ends first or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc is None or proc.poll() is None, f"the run ended (exit {proc.returncode}) " \
                                                    f"before {what}"
        assert time.monotonic() < deadline, f"not {what} after {seconds:.0f} s"
        time.sleep(0.02)


class Gate:
    """The gate files of one run: `env(2, 6)` holds videos 2 and 6 until `open(2)`, `open(6)`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def env(self, *videos: int) -> dict[str, str]:
        return {"LIGHTPIPE_FAULT": ",".join(f"gate@{v}" for v in videos),
                "LIGHTPIPE_FAULT_GATE": str(self.folder)}

    def reached(self, video: int) -> bool:
        return (self.folder / f"{video}.reached").exists()

    def wait_reached(self, video: int, proc: subprocess.Popen) -> None:
        wait_until(lambda: self.reached(video), f"video {video} started rendering", proc)

    def open(self, video: int) -> None:
        (self.folder / f"{video}.open").touch()
