"""SIGTERM (scancel, a time limit, Kubernetes) stops `lightpipe predict` as preemption does,
without requeueing: the current video and the queued encodes finish, nothing partial is
committed, the command exits 143 and the same command finishes the dataset."""

from __future__ import annotations

import signal

import pytest

from lightpipe.atomic_io import is_temp

from conftest import LIGHTPIPE, REPO, run_lightpipe, tree_hashes
from fault_gate import Gate, LoggedRun

pytestmark = pytest.mark.e2e

RESUME = "; stopped (SIGTERM received): the same command resumes"


def start(config, out, *extra: str, gate: Gate, videos: tuple[int, ...]) -> LoggedRun:
    """The real command in its own process group (so the group can be signalled), the tasks held
    at the gates of `videos`."""
    cmd = [*LIGHTPIPE, "predict", "--config", str(config), "--settings.output_dir", str(out),
           *extra]
    return LoggedRun(cmd, out.parent / "logs", {"PYTHONUNBUFFERED": "1", **gate.env(*videos)},
                     REPO)


def assert_stopped_cleanly(proc, stdout: str, stderr: str, out, tasks: int,
                           complete: list[int]) -> None:
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    for rank in range(tasks):
        assert f"lightpipe task {rank}: SIGTERM received; finishing the current video" in stderr
        assert f"lightpipe task {rank}/{tasks}: rendered" in stdout
    assert stdout.count("(stopped early: SIGTERM received)") == tasks
    assert sorted(int(p.stem) for p in out.glob("*/*.json")) == complete
    assert stdout.strip().splitlines()[-1] == (
        f"lightpipe dataset: {len(complete)}/10 videos complete in {out}{RESUME}")
    assert not [p for p in out.rglob("*") if is_temp(p)]


def test_sigterm_stops_one_process_cleanly_and_a_rerun_finishes(reference, tmp_path):
    """The signal lands while video 2 renders (held at a gate until the task has taken it): it
    is committed, nothing after it."""
    config, _, hashes, _ = reference
    out, gate = tmp_path / "out", Gate(tmp_path / "gate")
    with start(config, out, "--settings.encoder.max_pending_videos", "1", gate=gate,
               videos=(2,)) as run:
        stdout, stderr = run.signal_at_gates(gate, (2,), signal.SIGTERM, "SIGTERM received")
    proc = run.proc
    assert_stopped_cleanly(proc, stdout, stderr, out, tasks=1, complete=[0, 1, 2])
    assert "rendered 3 [0000-0002]" in stdout
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == hashes


@pytest.mark.parametrize("target", ["command", "process group"])
def test_sigterm_stops_both_processes_lightning_launched(reference, tmp_path, target):
    """Rank 0 is the command, rank 1 its child: SIGTERM to the command's pid reaches the child
    (forwarded), SIGTERM to the group reaches both twice; either way both stop, nothing hangs.
    Each task is held at a gate on its third video (2 and 7) until both have taken the signal."""
    config, _, hashes, _ = reference
    out, gate = tmp_path / "out", Gate(tmp_path / "gate")
    with start(config, out, "--trainer.devices", "2", "--trainer.strategy", "ddp",
               "--trainer.accelerator", "cpu", gate=gate, videos=(2, 7)) as run:
        stdout, stderr = run.signal_at_gates(gate, (2, 7), signal.SIGTERM, "SIGTERM received",
                                             group=target == "process group")
    proc = run.proc
    assert_stopped_cleanly(proc, stdout, stderr, out, tasks=2, complete=[0, 1, 2, 5, 6, 7])
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == hashes
