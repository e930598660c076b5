"""A full disk or an unwritable folder stops a task once, clearly: one message naming the file
and the error, no traceback per video, nothing partial on disk, the summary, exit 1; the same
command finishes the dataset once the space or the folder is back. A read-only split folder is
refused before rendering.

Needs root to mount tmpfs file systems (as in CI); skipped, saying so, where mounting fails."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from lightpipe.atomic_io import is_temp

from conftest import LIGHTPIPE, REPO, run_lightpipe, tree_hashes
from fault_gate import Gate, wait_until

pytestmark = pytest.mark.e2e

VIDEO_SUFFIXES = ("_color.mp4", "_depth.mp4", "_depth.mkv")


@contextmanager
def mounted(target: Path, options: str):
    """A tmpfs at `target` for the block (skip the test when it cannot be mounted)."""
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def assert_complete_or_absent(out: Path) -> None:
    """No temp files; each video has all its files and its JSON, or none of them."""
    assert not [p for p in out.rglob("*") if is_temp(p)]
    for index in range(10):
        split = "train" if index < 8 else "val"
        names = [f"{index:04d}{s}" for s in (*VIDEO_SUFFIXES, ".json")]
        present = [(out / split / n).exists() for n in names]
        assert all(present) or not any(present), (index, present)


def assert_stopped_once(proc, out: Path, message: str, reason: str,
                        seen: int | None = None) -> None:
    """`seen`: the complete videos the run could see (default: those on disk now)."""
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "cannot write /" in line]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"lightpipe task 0/1: cannot write {out}/") and message in lines[0]
    assert f"(stopped early: {reason})" in proc.stdout
    assert "lightpipe task 0/1: rendered" in proc.stdout
    complete = len(list(out.glob("*/*.json"))) if seen is None else seen
    assert complete < 10
    assert proc.stdout.strip().splitlines()[-1] == (
        f"lightpipe dataset: {complete}/10 videos complete in {out}; stopped ({reason}): "
        "the same command resumes")
    assert_complete_or_absent(out)


def test_a_full_disk_stops_once_and_the_same_command_finishes_after_freeing(reference, tmp_path):
    """A 1 MiB tmpfs holding a filler file leaves room for about one video."""
    config, _, hashes, _ = reference
    with mounted(tmp_path / "disk", "size=1m") as disk:
        filler = disk / "filler"
        filler.write_bytes(bytes(1024 * 1024 - 48 * 1024))
        out = disk / "out"
        args = ("predict", "--config", str(config), "--settings.output_dir", str(out))
        proc = run_lightpipe(*args, check=False)
        assert_stopped_once(proc, out, ": No space left on device (ENOSPC); stopping. Free space, "
                            "then run the same command.", "out of space")
        filler.unlink()
        run_lightpipe(*args)
        assert tree_hashes(out) == hashes


def test_folders_turning_read_only_mid_run_stop_once_and_the_summary_still_comes(reference,
                                                                                 tmp_path):
    """train/ and failures/ become read-only while video 2 renders: the video stops the task
    with one message, the failure record cannot be written either (said once), the summary and
    the dataset line still come; with the folders back, the same command finishes.

    Video 2 is held at a gate (`LIGHTPIPE_FAULT=gate@2`) until the folders are read-only, and
    they become so only once video 1 is committed and the writer has had a second for its last
    steps (the folder's fsync after the rename, milliseconds; nothing else runs meanwhile), so
    the mount cannot land in the middle of video 1."""
    config, _, hashes, _ = reference
    out = tmp_path / "out"
    (out / "failures").mkdir(parents=True)
    gate = Gate(tmp_path / "gate")
    cmd = [*LIGHTPIPE, "predict", "--config", str(config), "--settings.output_dir", str(out),
           "--settings.encoder.max_pending_videos", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **gate.env(2)})
    try:
        gate.wait_reached(2, proc)
        wait_until((out / "train" / "0001.json").exists, "video 1 committed", proc)
        time.sleep(1.0)
        with mounted(out / "train", "ro"), mounted(out / "failures", "ro"):
            gate.open(2)
            proc.stdout_text, proc.stderr_text = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    proc.stdout, proc.stderr = proc.stdout_text, proc.stderr_text
    assert_stopped_once(proc, out, ": Read-only file system (EROFS); stopping.",
                        "output not writable", seen=0)  # the mount hid videos 0 and 1
    assert proc.stderr.count("cannot write the failure record") == 1
    # Video 3 may have been rendered while video 2 was being encoded; nothing after it starts.
    assert ("rendered 2 [0000-0001], failed 1 [0002]," in proc.stdout
            or "rendered 2 [0000-0001], failed 2 [0002-0003]," in proc.stdout), proc.stdout
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == hashes


def test_a_read_only_split_folder_is_refused_before_rendering(reference, tmp_path):
    config = reference[0]
    out = tmp_path / "out"
    train = out / "train"
    if os.geteuid() == 0:  # root writes through permission bits: mount a read-only folder
        context = mounted(train, "ro")
    else:
        train.mkdir(parents=True)
        train.chmod(0o555)
        context = nullcontext_of(train)
    with context:
        proc = run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                             check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"HINT: '{train}' refuses: " in proc.stderr
    assert "Read-only file system" in proc.stderr or "Permission denied" in proc.stderr
    assert not (out / "dataset.json").exists()  # refused before anything was written


@contextmanager
def nullcontext_of(path: Path):
    try:
        yield path
    finally:
        path.chmod(0o755)


def test_a_disk_full_before_dataset_json_is_one_message(tmp_path):
    """The disk fills between the up-front probe and preparing the folders and `dataset.json`:
    one OutputDirError naming the path and the error, no traceback."""
    from lightpipe.dataset.output_dir import prepare_output_dir
    from lightpipe.errors import OutputDirError

    from conftest import settings_of, tiny_config

    with mounted(tmp_path / "disk", "size=64k") as disk:
        (disk / "filler").write_bytes(bytes(64 * 1024))
        project, settings = settings_of(tiny_config(tmp_path / "c.yaml", disk / "out"))
        with pytest.raises(OutputDirError) as refused:
            prepare_output_dir(project, settings)
    message = str(refused.value)
    assert f": {disk}/out" in message and "No space left on device" in message
    assert "no video was rendered" in message
