"""End to end: the real CLI, real DDP processes on CPU (gloo), the real encoders."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess

import numpy as np
import pytest

from lightpipe.atomic_io import is_temp
from lightpipe.config.settings import Settings, VideoSettings
from lightpipe.dataset.depth_codes import dequantize_metric
from lightpipe.dataset.video_reader import probe, read_gray16, read_rgb
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render.renderer import render_video

from conftest import LIGHTPIPE, REPO, run_lightpipe, tiny_config, tree_hashes
from fault_gate import Gate, wait_until

pytestmark = pytest.mark.e2e


def test_reference_run_writes_every_file(reference):
    _, out, hashes, proc = reference
    stems = [f"{i:04d}" for i in range(10)]
    expected = {"dataset.json"}
    for i, stem in enumerate(stems):
        split = "train" if i < 8 else "val"
        expected |= {f"{split}/{stem}{s}" for s in
                     ("_color.mp4", "_depth.mp4", "_depth.mkv", ".json")}
    assert set(hashes) == expected
    assert "lightpipe task 0/1: rendered 10 [0000-0009], failed 0 [-]" in proc.stdout
    assert "lightpipe dataset: 10/10 videos complete" in proc.stdout


def test_the_in_process_fixture_writes_what_the_command_writes(reference, tiny_dataset):
    """The unit tier reads `tiny_dataset` (written in process): it is this command's output."""
    assert tree_hashes(tiny_dataset[1]) == reference[2]


# Lightning's hints and tips a generation run must not print (silenced by their exact text).
QUIET = ["srun", "GPU available:", "TPU available:", "HPU available:", "💡 Tip", "litlogger",
         "Total length of"]


@pytest.mark.parametrize("processes", [2, 3])
def test_ddp_processes_give_identical_bytes(reference, tmp_path, processes):
    config, _, hashes, _ = reference
    out = tmp_path / "out"
    proc = run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                         "--trainer.devices", str(processes), "--trainer.strategy", "ddp")
    assert tree_hashes(out) == hashes
    first_block = "4 [0000-0003]" if processes == 3 else "5 [0000-0004]"
    assert f"lightpipe task 0/{processes}: rendered {first_block}" in proc.stdout
    log = proc.stdout + proc.stderr
    for tip in QUIET:
        assert tip not in log, tip
    assert proc.stdout.strip().splitlines()[-1] == f"lightpipe dataset: 10/10 videos complete in {out}"


def test_cpu_thread_count_does_not_change_bytes(reference, tmp_path):
    config, _, hashes, _ = reference
    out = tmp_path / "out"
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out),
                  env={"OMP_NUM_THREADS": "1"})
    assert tree_hashes(out) == hashes


def test_rerun_skips_complete_videos_and_redoes_incomplete_ones(reference, tmp_path):
    config, ref_out, hashes, _ = reference
    out = tmp_path / "out"
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    (out / "train" / "0003.json").unlink()  # files without JSON: incomplete
    (out / "val" / "0009_depth.mkv").write_bytes(b"truncated")  # size no longer matches
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*_color.mp4")}
    proc = run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert "rendered 2 [0003, 0009], failed 0 [-], skipped as complete 8" in proc.stdout
    assert tree_hashes(out) == hashes
    untouched = [p for p in before if p.name[:4] not in ("0003", "0009")]
    assert all(p.stat().st_mtime_ns == before[p] for p in untouched)

    again = run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert "rendered 0 [-], failed 0 [-], skipped as complete 10" in again.stdout
    assert not [tip for tip in QUIET if tip in again.stdout + again.stderr]
    assert again.stdout.strip().splitlines()[-1].startswith("lightpipe dataset: 10/10 videos")


def test_decoded_outputs_match_the_render(reference):
    _, out, _, _ = reference
    meta = json.loads((out / "train" / "0002.json").read_text())
    for name in ("0002_color.mp4", "0002_depth.mp4", "0002_depth.mkv"):
        info = probe(out / "train" / name)
        assert (info.num_frames, info.width, info.height, float(info.fps)) == (5, 64, 64, 8.0)
        assert meta["files"][name]["bytes"] == (out / "train" / name).stat().st_size
    settings = Settings(num_videos=10, video=VideoSettings(64, 64, 5, 8))
    spec = plan_video(7, settings, 2, asset_pools(7, settings))
    assert meta["spec"] == spec.to_dict()
    rendered = render_video(spec)

    metric = meta["depth"]["metric"]
    codes = read_gray16(out / "train" / "0002_depth.mkv")
    depth = dequantize_metric(codes, metric["near"], metric["far"])
    step = (metric["far"] - metric["near"]) / 65535
    assert np.array_equal(depth > 0, rendered.depth > 0)
    assert np.abs(depth - rendered.depth).max() <= step
    assert metric["near"] == pytest.approx(rendered.depth[rendered.depth > 0].min())

    color = read_rgb(out / "train" / "0002_color.mp4").astype(int)
    assert np.abs(color - rendered.color).mean() < 10  # 4:2:0 chroma on busy 64x64 textures
    assert np.median(np.abs(color - rendered.color)) <= 3

    vis = read_rgb(out / "train" / "0002_depth.mp4").astype(int)
    assert np.abs(vis[..., 0] - vis[..., 2]).max() <= 4  # gray
    valid = rendered.depth > 0
    near_px = vis[..., 0][valid & (rendered.depth < np.quantile(rendered.depth[valid], 0.1))]
    far_px = vis[..., 0][valid & (rendered.depth > np.quantile(rendered.depth[valid], 0.9))]
    assert near_px.mean() > far_px.mean() + 50  # near is bright

    camera = meta["camera"]
    assert np.array(camera["intrinsics"]).shape == (3, 3)
    assert np.array(camera["extrinsics"]).shape == (5, 4, 4)


def test_80_videos_split_into_train_and_val_by_global_index(tmp_path):
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", num_videos=80,
                         video={"width": 16, "height": 16, "num_frames": 1})
    run_lightpipe("predict", "--config", str(config))
    train = sorted(p.name for p in (tmp_path / "out" / "train").iterdir())
    val = sorted(p.name for p in (tmp_path / "out" / "val").iterdir())
    assert {n[:4] for n in train} == {f"{i:04d}" for i in range(64)}
    assert {n[:4] for n in val} == {f"{i:04d}" for i in range(64, 80)}
    assert val[0] == "0064.json" and "0064_color.mp4" in val
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dataset.json", "train", "val"]
    dataset = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert dataset["splits"]["val"] == {"count": 16, "first": "0064", "last": "0079"}


def test_sigkill_midway_then_rerun_ends_identical(tmp_path):
    """Two tasks (videos 0-3 and 4-7) each held at a gate on their third video (2 and 6), killed
    once two videos are committed (their encodes may still be in flight): the killed run left
    some videos complete and none of the held ones or those after them."""
    args = dict(num_videos=8, video={"width": 128, "height": 96, "num_frames": 16})
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "clean", **args)
    run_lightpipe("predict", "--config", str(config))
    clean = tree_hashes(tmp_path / "clean")

    out, gate = tmp_path / "killed", Gate(tmp_path / "gate")
    cmd = [*LIGHTPIPE, "predict", "--config", str(config), "--settings.output_dir", str(out),
           "--trainer.devices", "2", "--trainer.strategy", "ddp"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **gate.env(2, 6)})
    try:
        for video in (2, 6):
            gate.wait_reached(video, proc)
        wait_until(lambda: len(list(out.glob("*/*.json"))) >= 2, "two videos committed", proc)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the gates are never opened
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = sorted(int(p.stem) for p in out.glob("*/*.json"))
    assert len(done) >= 2 and set(done) <= {0, 1, 4, 5}, f"complete after the kill: {done}"

    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(out))
    assert tree_hashes(out) == clean
    assert not [p for p in out.rglob("*") if is_temp(p)]
