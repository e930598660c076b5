"""`lightpipe verify` vouches only for the plan's videos, and `predict` redoes the others; predict
refuses to resume a dataset of an older format."""

from __future__ import annotations

import json
import shutil

import pytest

from lightpipe.atomic_io import write_json

from conftest import run_lightpipe, tree_hashes

pytestmark = pytest.mark.e2e


def copy_of(datasets, tmp_path):
    config, out = datasets[7]
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return copy, ("--config", str(config), "--settings.output_dir", str(copy))


def test_a_video_of_another_seed_is_found_and_redone(datasets, tmp_path):
    copy, args = copy_of(datasets, tmp_path)
    for path in (datasets[8][1] / "train").glob("0001*"):  # JSON and files, seed 8's
        shutil.copy(path, copy / "train" / path.name)
    (copy / "train" / "notes.txt").write_text("mine")
    check = run_lightpipe("verify", *args, check=False)
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"{copy}: 3/4 videos complete (sha256, spec and camera checked)" in check.stdout
    assert "  corrupt: 1 [0001]\n    0001: 0001.json was recorded for another configuration " \
           "or seed: identity " in check.stdout
    assert "  stray: 1 [train/notes.txt] (no planned video owns them; left in place" \
        in check.stdout
    rerun = run_lightpipe("predict", *args)
    assert "rendered 1 [0001]" in rerun.stdout
    (copy / "train" / "notes.txt").unlink()  # listed, never deleted
    assert tree_hashes(copy) == tree_hashes(datasets[7][1])


def test_hand_edited_extrinsics_are_found_and_redone(datasets, tmp_path):
    copy, args = copy_of(datasets, tmp_path)
    meta_file = copy / "val" / "0003.json"
    meta = json.loads(meta_file.read_text())
    meta["camera"]["extrinsics"][1][2][3] += 0.25  # the files and their sizes stay as they are
    write_json(meta_file, meta)
    quick = run_lightpipe("verify", *args, "--quick", check=False)
    assert quick.returncode == 0 and "4/4 videos complete" in quick.stdout  # predict's check
    check = run_lightpipe("verify", *args, check=False)
    assert check.returncode == 1
    assert "  corrupt: 1 [0003]\n    0003: camera.extrinsics frame 1 differs from the plan\n" \
        in check.stdout
    assert "stray" not in check.stdout
    assert "camera.extrinsics frame 1" in (copy / "failures" / "0003.txt").read_text()
    rerun = run_lightpipe("predict", *args)
    assert "rendered 1 [0003]" in rerun.stdout
    assert tree_hashes(copy) == tree_hashes(datasets[7][1])
    assert run_lightpipe("verify", *args).stdout.startswith(f"{copy}: 4/4 videos complete")


def test_predict_and_verify_refuse_a_dataset_of_an_older_format(datasets, tmp_path):
    """Its JSONs have no identity: predict would render every video again, and verify would
    record every one as corrupt."""
    copy, args = copy_of(datasets, tmp_path)
    info = json.loads((copy / "dataset.json").read_text())
    info.pop("video_identity_sha256")
    write_json(copy / "dataset.json", {**info, "format_version": 2})
    before = tree_hashes(copy)
    proc = run_lightpipe("predict", *args, check=False)
    assert proc.returncode == 2
    assert (f"`settings.output_dir` '{copy}' holds a dataset of format 2; this Lightpipe writes "
            "format 3.\nAllowed: finish it with the Lightpipe version that wrote it (0.1.0), or "
            "--settings.overwrite true, which deletes that dataset first.\nHINT: choose another "
            "--settings.output_dir") in proc.stderr
    assert "Traceback" not in proc.stderr
    check = run_lightpipe("verify", *args, check=False)
    assert check.returncode == 2 and "Traceback" not in check.stderr
    assert (f"{copy}/dataset.json is format 2; this Lightpipe checks format 3.\nHINT: verify it "
            "with the Lightpipe version that wrote it (0.1.0)") in check.stderr
    assert tree_hashes(copy) == before
