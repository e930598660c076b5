"""`lightpipe fit` stopped by the user: Ctrl-C exits 130, SIGTERM 143, no traceback, and with
checkpointing on a `last.ckpt` is saved where the message says."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import torch

from conftest import LIGHTPIPE, REPO, tiny_config, write_dataset

CONFIG = str(REPO / "configs" / "train_example.yaml")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """4 videos (train 0000-0002, val 0003), 32x32, 5 frames."""
    base = tmp_path_factory.mktemp("fit_stop")
    config = tiny_config(base / "c.yaml", base / "ds", num_videos=4,
                         video={"width": 32, "height": 32, "num_frames": 5})
    return write_dataset(config)


def start_fit(dataset, tmp_path, *extra: str) -> subprocess.Popen:
    """A fit that would run for a long time; `fit_probe` records the batches it trains on."""
    probe = {"class_path": "fit_probe.RecordSeenVideos", "init_args": {"out_dir": str(tmp_path)}}
    cmd = [*LIGHTPIPE, "fit", "--config", CONFIG, "--data.root", str(dataset),
           "--data.size", "[32, 32]", "--data.clip_length", "4", "--data.frame_stride", "1",
           "--data.num_workers", "0", "--trainer.accelerator", "cpu",
           "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
           "--trainer.max_steps", "-1", "--trainer.max_epochs", "100000",
           "--trainer.num_sanity_val_steps", "0", "--trainer.check_val_every_n_epoch", "1000",
           "--trainer.val_check_interval", "null", "--trainer.callbacks", json.dumps([probe]),
           "--trainer.logger.init_args.save_dir", str(tmp_path / "logs"), *extra]
    pythonpath = os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": pythonpath,
                                            "PYTHONUNBUFFERED": "1"})


def stop_when_training(proc, tmp_path, signum) -> str:
    """Send `signum` once the second epoch trains (the first one's checkpoint is saved by
    then); returns stderr."""
    seen = tmp_path / "rank0.txt"
    deadline = time.monotonic() + 120
    while not (seen.exists() and "train@1" in seen.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"fit never reached epoch 1:\n{proc.communicate()[1][-3000:]}")
        time.sleep(0.05)
    proc.send_signal(signum)
    try:
        return proc.communicate(timeout=120)[1]
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("signum,code,name", [(signal.SIGINT, 130, "Ctrl-C"),
                                              (signal.SIGTERM, 143, "SIGTERM")])
def test_a_stopped_fit_saves_last_ckpt_and_exits_128_plus_the_signal(dataset, tmp_path, signum,
                                                                     code, name):
    proc = start_fit(dataset, tmp_path)
    stderr = stop_when_training(proc, tmp_path, signum)
    assert proc.returncode == code, stderr[-3000:]
    assert "Traceback" not in stderr
    last = tmp_path / "logs" / "fit" / "version_0" / "checkpoints" / "last.ckpt"
    assert f"lightpipe fit: stopped by {name} at epoch " in stderr
    assert f"; last checkpoint saved to {last} (resume with --ckpt_path {last})" in stderr
    saved = torch.load(last, map_location="cpu", weights_only=False)
    assert saved["global_step"] > 0 and saved["epoch"] >= 1 and saved["state_dict"]


def test_ctrl_c_without_checkpointing_exits_130_and_says_so(dataset, tmp_path):
    proc = start_fit(dataset, tmp_path, "--trainer.enable_checkpointing", "false")
    stderr = stop_when_training(proc, tmp_path, signal.SIGINT)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "; no checkpoint saved (checkpointing is off)" in stderr
    assert not list(tmp_path.rglob("*.ckpt"))
