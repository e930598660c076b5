"""SIGTERM (scancel, a time limit, Kubernetes) stops `lightpipe predict` as preemption does,
without requeueing: the current video and the queued encodes finish, nothing partial is
committed, the command exits 143 and the same command finishes the dataset."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from lightpipe.atomic_io import is_temp

from conftest import LIGHTPIPE, REPO, run_lightpipe, tree_hashes

pytestmark = pytest.mark.e2e

RESUME = "; stopped (SIGTERM received): the same command resumes"


def start(config, out, *extra: str, faults: str) -> subprocess.Popen:
    """The real command in its own process group (so the group can be signalled)."""
    cmd = [*LIGHTPIPE, "predict", "--config", str(config), "--settings.output_dir", str(out),
           *extra]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", "LIGHTPIPE_FAULT": faults})


def wait_for(proc: subprocess.Popen, path) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, f"the run ended before the signal:\n{proc.stderr.read()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def assert_stopped_cleanly(proc, stdout: str, stderr: str, out, tasks: int) -> None:
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    for rank in range(tasks):
        assert f"lightpipe task {rank}: SIGTERM received; finishing the current video" in stderr
        assert f"lightpipe task {rank}/{tasks}: rendered" in stdout
    assert stdout.count("(stopped early: SIGTERM received)") == tasks
    complete = len(list(out.glob("*/*.json")))
    assert 2 <= complete < 10
    assert stdout.strip().splitlines()[-1] == (
        f"lightpipe dataset: {complete}/10 videos complete in {out}{RESUME}")
    assert not [p for p in out.rglob("*") if is_temp(p)]


def test_sigterm_stops_one_process_cleanly_and_a_rerun_finishes(reference, tmp_path):
    """The signal lands while video 2 renders (stalled): it is committed, nothing after it."""
    config, _, hashes, _ = reference
    out = tmp_path / "out"
    proc = start(config, out, "--settings.encoder.max_pending_videos", "1", faults="stall@2")
    wait_for(proc, out / "train" / "0001.json")
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert_stopped_cleanly(proc, stdout, stderr, out, tasks=1)
    assert "rendered 3 [0000-0002]" in stdout
    assert sorted(p.name for p in out.glob("*/*.json")) == ["0000.json", "0001.json", "0002.json"]
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == hashes


@pytest.mark.parametrize("target", ["command", "process group"])
def test_sigterm_stops_both_processes_lightning_launched(reference, tmp_path, target):
    """Rank 0 is the command, rank 1 its child: SIGTERM to the command's pid reaches the child
    (forwarded), SIGTERM to the group reaches both twice; either way both stop, nothing hangs."""
    config, _, hashes, _ = reference
    out = tmp_path / "out"
    proc = start(config, out, "--trainer.devices", "2", "--trainer.strategy", "ddp",
                 "--trainer.accelerator", "cpu", faults="stall@2,stall@7")
    wait_for(proc, out / "train" / "0001.json")
    if target == "command":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert_stopped_cleanly(proc, stdout, stderr, out, tasks=2)
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == hashes
