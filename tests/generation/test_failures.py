"""A failing video never stops the others; a preempted run stops cleanly; reruns finish the job."""

from __future__ import annotations

import signal
import subprocess

import pytest

from lightpipe.atomic_io import is_temp

from conftest import LIGHTPIPE, REPO, run_lightpipe, tree_hashes
from fault_gate import Gate, LoggedRun

pytestmark = pytest.mark.e2e


def test_failed_video_is_recorded_and_the_others_complete(reference, tmp_path):
    config, _, hashes, _ = reference
    out = tmp_path / "out"
    proc = run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                         "--trainer.devices", "2", "--trainer.strategy", "ddp",
                         env={"LIGHTPIPE_FAULT": "raise@3,raise@7"}, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "rendered 4 [0000-0002, 0004], failed 1 [0003]" in proc.stdout
    assert "rendered 4 [0005-0006, 0008-0009], failed 1 [0007]" in proc.stdout
    record = (out / "failures" / "0003.txt").read_text()
    assert record.startswith("video 3\n") and "InjectedFault" in record
    assert not (out / "train" / "0003.json").exists()

    check = run_lightpipe("verify", "--config", str(config), "--settings.output_dir", str(out),
                          "--tasks", "2", check=False)
    assert check.returncode == 1
    assert "8/10 videos complete" in check.stdout
    assert "failed: 2 [0003, 0007]" in check.stdout
    assert "task 0/2: 0003" in check.stdout and "task 1/2: 0007" in check.stdout

    rerun = run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert "rendered 2 [0003, 0007], failed 0 [-], skipped as complete 8" in rerun.stdout
    assert tree_hashes(out) == hashes  # failure records are gone once the video succeeds
    assert run_lightpipe("verify", "--config", str(config), "--settings.output_dir",
                         str(out)).stdout.startswith(f"{out}: 10/10 videos complete")


def test_verify_finds_corrupt_files_and_predict_redoes_exactly_them(reference, tmp_path):
    config, ref_out, hashes, _ = reference
    out = tmp_path / "out"
    subprocess.run(["cp", "-r", str(ref_out), str(out)], check=True)
    color = out / "train" / "0005_color.mp4"
    data = bytearray(color.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different bytes
    color.write_bytes(bytes(data))
    (out / "val" / "0008_depth.mp4").unlink()
    verify = ("verify", "--config", str(config), "--settings.output_dir", str(out))
    quick = run_lightpipe(*verify, "--quick", check=False)  # sizes only: the flip goes unseen
    assert quick.returncode == 1
    assert "9/10 videos complete (metadata, identity and sizes checked)" in quick.stdout
    assert "corrupt: 1 [0008]" in quick.stdout and "0008: 0008_depth.mp4 is missing" in quick.stdout
    check = run_lightpipe(*verify, "--workers", "2", check=False)
    assert check.returncode == 1
    assert "corrupt: 2 [0005, 0008]" in check.stdout
    assert "0005: 0005_color.mp4 has sha256 " in check.stdout
    assert "recorded 1 corrupt video(s)" in check.stdout  # 0005: its JSON would pass a resume
    assert "corrupt (found by lightpipe verify)" in (out / "failures" / "0005.txt").read_text()
    rerun = run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert "rendered 2 [0005, 0008]" in rerun.stdout
    assert tree_hashes(out) == hashes


def test_sigusr1_stops_after_the_current_video_and_a_rerun_finishes(reference, tmp_path):
    """The signal lands while video 2 renders (held at a gate until the task has taken the
    signal): it is finished and committed, nothing after it starts, the task exits 1, and a rerun
    completes the same bytes."""
    config, _, hashes, _ = reference
    out, gate = tmp_path / "out", Gate(tmp_path / "gate")
    cmd = [*LIGHTPIPE, "predict", "--config", str(config), "--settings.output_dir", str(out),
           "--settings.encoder.max_pending_videos", "1"]
    with LoggedRun(cmd, tmp_path / "logs", gate.env(2), REPO) as run:
        stdout, stderr = run.signal_at_gates(gate, (2,), signal.SIGUSR1, "SIGUSR1 received")
    proc = run.proc
    assert "SIGUSR1 received; finishing the current video" in stderr
    assert "rendered 3 [0000-0002]" in stdout and "(stopped early: SIGUSR1 received)" in stdout
    assert proc.returncode == 1
    assert sorted(p.name for p in out.glob("*/*.json")) == ["0000.json", "0001.json", "0002.json"]
    assert not [p for p in out.rglob("*") if is_temp(p)]
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == hashes


def test_ctrl_c_stops_cleanly_says_how_to_resume_and_a_rerun_finishes(reference, tmp_path):
    """SIGINT (what Ctrl-C sends) while video 3 renders (held at a gate until the task has taken
    it), two videos in flight: the videos started and the queued encodes finish. With one
    encode queued at most, the task waits behind video 3's encode once it has started video 4,
    so the complete videos are 0-3, or 0-4 when video 4 started before the signal; the last
    line counts them and says the same command resumes, exit 130; the rerun gives the clean
    run's bytes."""
    config, _, hashes, _ = reference
    out, gate = tmp_path / "out", Gate(tmp_path / "gate")
    cmd = [*LIGHTPIPE, "predict", "--config", str(config), "--settings.output_dir", str(out),
           "--settings.render.videos_in_flight", "2", "--settings.encoder.max_pending_videos", "1"]
    with LoggedRun(cmd, tmp_path / "logs", gate.env(3), REPO) as run:
        stdout, stderr = run.signal_at_gates(gate, (3,), signal.SIGINT, "Ctrl-C; finishing")
    proc = run.proc
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    complete = sorted(p.name for p in out.glob("*/*.json"))
    assert len(complete) in (4, 5)
    assert complete == [f"{i:04d}.json" for i in range(len(complete))]
    assert stdout.strip().splitlines()[-1] == (
        f"lightpipe dataset: {len(complete)}/10 videos complete in {out}; stopped (Ctrl-C): "
        "the same command resumes")
    assert not [p for p in out.rglob("*") if is_temp(p)]
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == hashes
