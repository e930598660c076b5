"""Deterministic pauses for the tests that signal or kill a run mid-way.

`LIGHTPIPE_FAULT=gate@N` (lightpipe.generation.faults) holds the task that renders video N until
the test opens the gate, so the test acts while video N is known to be rendering, instead of
guessing with a stall how long the run takes. Every wait has a deadline and fails by name: a
slow machine fails clearly instead of acting at the wrong moment.
"""

from __future__ import annotations

import contextlib
import os
import signal
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


class LoggedRun:
    """A command in its own process group, its stdout and stderr in files that the test reads
    while it runs (to act once the run has said something); used as a context manager, it
    leaves no process behind."""

    def __init__(self, cmd: list[str], folder: Path, env: dict[str, str], cwd: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = folder / "stdout.log", folder / "stderr.log"
        with open(self.stdout_path, "w") as stdout, open(self.stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=stdout, stderr=stderr,
                                         start_new_session=True, env={**os.environ, **env})

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for_stderr(self, text: str, count: int = 1) -> None:
        wait_until(lambda: self.stderr().count(text) >= count,
                   f"{text!r} said {count} time(s) on stderr", self.proc)

    def signal_at_gates(self, gate: Gate, videos: tuple[int, ...], signum: int, said: str,
                        group: bool = False) -> tuple[str, str]:
        """Once each task holds at its gate (one of `videos` each), send `signum` to the command
        (or its process group); once each task has `said` so on stderr, open the gates; wait
        for the exit. The signal lands while those videos render, whatever the machine's pace."""
        for video in videos:
            gate.wait_reached(video, self.proc)
        if group:
            os.killpg(self.proc.pid, signum)
        else:
            self.proc.send_signal(signum)
        self.wait_for_stderr(said, count=len(videos))
        for video in videos:
            gate.open(video)
        return self.finish()

    def finish(self, seconds: float = DEADLINE_S) -> tuple[str, str]:
        """Wait for the exit (failing at `seconds`); its stdout and stderr."""
        self.proc.wait(timeout=seconds)
        return self.stdout_path.read_text(), self.stderr()

    def __enter__(self) -> LoggedRun:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
