"""`lightpipe fit` end to end: the example model learns; real 2-process DDP sees val once."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict

import pytest

from lightpipe.commands.dispatch import main

from conftest import REPO, run_lightpipe, tiny_config, write_dataset

CONFIG = str(REPO / "configs" / "train_example.yaml")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """12 videos (train 0000-0008, val 0009-0011), 64x64, 9 frames."""
    base = tmp_path_factory.mktemp("fit")
    config = tiny_config(base / "c.yaml", base / "ds", num_videos=12, video={"num_frames": 9},
                         dataset_split={"train_ratio": 0.75})
    return write_dataset(config)


def fit(dataset, logs, *extra: str, env: dict | None = None):
    return run_lightpipe(
        "fit", "--config", CONFIG, "--data.root", str(dataset), "--data.size", "[32, 32]",
        "--data.clip_length", "4", "--data.frame_stride", "1", "--data.num_workers", "0",
        "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false", "--trainer.enable_checkpointing", "false",
        "--trainer.logger.init_args.save_dir", str(logs), *extra, env=env)


def metrics(logs) -> list[dict]:
    (path,) = logs.glob("fit/version_*/metrics.csv")
    with open(path) as handle:
        return list(csv.DictReader(handle))


@pytest.mark.e2e
def test_example_fit_lowers_the_val_loss(dataset, tmp_path):
    fit(dataset, tmp_path, "--trainer.max_steps", "100", "--trainer.val_check_interval", "50")
    rows = metrics(tmp_path)
    val = [(int(r["step"]), float(r["val_loss"])) for r in rows if r["val_loss"]]
    assert [step for step, _ in val] == [0, 49, 99]  # 0: the untrained model (full sanity check)
    assert val[-1][1] < 0.8 * val[0][1], val
    train = [float(r["train_loss"]) for r in rows if r["train_loss"]]
    assert len(train) == 10 and sum(train[-3:]) < sum(train[:3])


@pytest.mark.e2e
def test_ddp_fit_validates_every_val_video_exactly_once(dataset, tmp_path):
    seen = tmp_path / "seen"
    callback = {"class_path": "fit_probe.RecordSeenVideos", "init_args": {"out_dir": str(seen)}}
    fit(dataset, tmp_path / "logs", "--trainer.devices", "2", "--trainer.strategy", "ddp",
        "--trainer.max_steps", "6", "--trainer.val_check_interval", "3",
        "--trainer.callbacks", json.dumps([callback]),
        env={"PYTHONPATH": str(REPO / "tests")})
    by_phase: dict[str, Counter] = defaultdict(Counter)
    per_rank: dict[str, list[set]] = defaultdict(list)
    for rank in (0, 1):
        lines = (seen / f"rank{rank}.txt").read_text().split()
        pairs = list(zip(lines[::2], map(int, lines[1::2])))
        for phase in {p for p, _ in pairs}:
            per_rank[phase].append({i for p, i in pairs if p == phase})
        for phase, index in pairs:
            by_phase[phase][index] += 1
    assert set(by_phase) == {"sanity", "val@3", "val@6", "train@0", "train@1"}
    for phase in ("sanity", "val@3", "val@6"):  # 3 val videos on 2 ranks: 2 + 1, none twice
        assert by_phase[phase] == Counter({9: 1, 10: 1, 11: 1}), phase
        assert per_rank[phase] == [{9, 11}, {10}]
    for epoch in ("train@0", "train@1"):  # 9 train videos padded to 5 per rank (batches 2+2+1)
        assert set(by_phase[epoch]) == set(range(9))  # every train video in every epoch
        assert sum(by_phase[epoch].values()) == 10
    rows = metrics(tmp_path / "logs")
    assert [int(r["step"]) for r in rows if r["val_loss"]] == [0, 2, 5]


def test_fit_on_a_directory_without_dataset_is_one_clear_error(tmp_path, capsys):
    code = main(["fit", "--config", CONFIG, "--data.root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.endswith(
        f"lightpipe fit: error: '{tmp_path}' is not a Lightpipe dataset: it has no dataset.json.\n"
        "HINT: point it at the `settings.output_dir` of a `lightpipe predict` run "
        "(default: output).\nsee `lightpipe fit --help`\n")
    assert "Traceback" not in err


@pytest.mark.e2e
def test_a_two_video_dataset_generates_and_trains_without_validation(tmp_path):
    """num_videos 2 puts both videos in train (round(2 * 0.8) = 2): predict writes an empty
    val/, and fit trains with one warning and no validation."""
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "ds", num_videos=2)
    out = write_dataset(config)
    assert sorted(p.name for p in out.glob("*/*.json")) == ["0000.json", "0001.json"]
    proc = fit(out, tmp_path / "logs", "--trainer.max_steps", "2", "--trainer.log_every_n_steps", "1")
    assert "has no val split (dataset_split.train_ratio put all 2 videos in train)" in proc.stderr
    rows = metrics(tmp_path / "logs")
    assert [r["train_loss"] for r in rows if r["train_loss"]] and not [
        r for r in rows if r.get("val_loss")]


def test_a_clip_longer_than_the_videos_is_refused_before_lightning(tiny_dataset, tmp_path,
                                                                   capsys):
    """The span check runs in the front door, before the trainer makes its logs directory."""
    _, root = tiny_dataset
    code = main(["fit", "--config", CONFIG, "--data.root", str(root), "--data.clip_length", "9",
                 "--trainer.logger.init_args.save_dir", str(tmp_path / "logs")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "`clip_length` is 9; allowed: at most 3 with frame_stride 2" in err
    assert not (tmp_path / "logs").exists()
