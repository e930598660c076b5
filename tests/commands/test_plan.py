"""`lightpipe plan`: the split, each task's block, pending videos of an existing output."""

import shutil

from lightpipe.commands.dispatch import main

CONFIG = "configs/configv1.yaml"


def plan(capsys, *args) -> str:
    assert main(["plan", "--config", CONFIG, "--settings.output_dir", "/nonexistent", *args]) == 0
    return capsys.readouterr().out


def test_seed_table_4_tasks(capsys):
    out = plan(capsys, "--tasks", "4")
    assert "train: 64 videos  0000-0063" in out and "val:   16 videos  0064-0079" in out
    for rank, (a, b) in enumerate([(0, 19), (20, 39), (40, 59), (60, 79)]):
        assert f"task {rank}: {a:04d}-{b:04d} (20 videos)" in out
    assert "task 4" not in out


def test_seed_table_8_tasks(capsys):
    out = plan(capsys, "--tasks", "8")
    for rank in range(8):
        assert f"task {rank}: {10 * rank:04d}-{10 * rank + 9:04d} (10 videos)" in out


def test_show_assets_lists_each_video(capsys):
    out = plan(capsys, "--tasks", "1", "--settings.num_videos", "5", "--show-assets")
    lines = [line for line in out.splitlines() if line[:4].isdigit()]
    assert [line[:4] for line in lines] == ["0000", "0001", "0002", "0003", "0004"]
    assert all("builtin:" in line for line in lines)


def test_show_assets_names_the_environment_ground(capsys, tmp_path):
    from asset_files import sky_map, write_environment

    write_environment(tmp_path / "environments" / "noon.hdr", sky_map(sun_row=8))
    out = plan(capsys, "--tasks", "1", "--settings.num_videos", "4", "--show-assets",
               "--settings.dataset_split.ensure_disjoint_assets", "false",
               "--settings.assets.root", str(tmp_path),
               "--settings.assets.environment_probability", "1.0",
               "--settings.scene.ground", "environment")
    lines = [line for line in out.splitlines() if line[:4].isdigit()]
    assert len(lines) == 4 and all("(environment ground from 1." in line for line in lines)
    assert "environment ground" not in plan(capsys, "--tasks", "1", "--show-assets",
                                            "--settings.num_videos", "4")


def test_plan_over_pending_videos_of_an_existing_output(capsys, tiny_dataset, tmp_path):
    config, out = tiny_dataset
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "train" / "0001.json").unlink()
    (copy / "train" / "0004.json").unlink()
    assert main(["plan", "--config", str(config), "--settings.output_dir", str(copy),
                 "--tasks", "2"]) == 0
    out = capsys.readouterr().out
    assert "pending: 2 of 10 (8 complete" in out
    assert "task 0: 0001 (1 videos)" in out and "task 1: 0004 (1 videos)" in out


def test_plan_says_predict_refuses_another_configurations_directory(capsys, tiny_dataset):
    """plan and predict agree: a directory holding another config's dataset is refused by both."""
    config, out = tiny_dataset
    assert main(["plan", "--config", str(config), "--project.seed", "8", "--tasks", "1"]) == 1
    printed = capsys.readouterr().out
    assert f"pending: 10 of 10 (predict refuses '{out}'" in printed
    assert "project.seed: 7 there, 8 now" in printed
    assert main(["predict", "--config", str(config), "--project.seed", "8"]) == 2
    assert "another configuration" in capsys.readouterr().err
    assert main(["plan", "--config", str(config), "--project.seed", "8", "--tasks", "1",
                 "--settings.overwrite", "true"]) == 0
    assert "pending: 10 of 10 (--settings.overwrite true: predict deletes" in \
        capsys.readouterr().out


def test_plan_of_a_new_directory(capsys, tmp_path, tiny_dataset):
    config, _ = tiny_dataset
    fresh = tmp_path / "fresh"
    assert main(["plan", "--config", str(config), "--settings.output_dir", str(fresh),
                 "--tasks", "1"]) == 0
    assert f"pending: 10 of 10 (nothing generated in '{fresh}' yet)" in capsys.readouterr().out


def test_show_specs_prints_every_knob_and_every_spec(capsys):
    import json

    from lightpipe.planning.specs import VideoSpec

    out = plan(capsys, "--tasks", "1", "--settings.num_videos", "3", "--show-specs")
    ranges = json.loads(next(line for line in out.splitlines()
                             if line.startswith("ranges: "))[len("ranges: "):])
    assert ranges["materials"]["roughness_scale"] == [0.7, 1.3]
    assert ranges["lighting"]["turbidity"] == [2.0, 5.0]
    assert ranges["camera"]["motion_blur"] is False and ranges["render"]["ambient_occlusion"]
    assert ranges["assets"]["environment_probability"] == 0.8
    specs = [VideoSpec.from_dict(json.loads(line)) for line in out.splitlines()
             if line.startswith("{")]
    assert [s.index for s in specs] == [0, 1, 2]
    assert all(s.environment.turbidity >= 2.0 for s in specs)


def test_plan_and_verify_name_a_run_writing_the_dataset_now(capsys, tiny_dataset, tmp_path):
    """While another run holds the lock, plan says predict would wait or be refused, and verify
    says its answer is a snapshot and records nothing in failures/."""
    from lightpipe.dataset.writer_lock import WriterLock

    config, out = tiny_dataset
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "train" / "0001_color.mp4").write_bytes(b"being rewritten")
    holder = WriterLock(copy, run_id="another-run", command=["lightpipe", "predict", "x.yaml"])
    holder.acquire()
    try:
        assert main(["plan", "--config", str(config), "--settings.output_dir", str(copy),
                     "--tasks", "1"]) == 0
        printed = capsys.readouterr().out
        assert "being written now by another run" in printed
        assert "command: lightpipe predict x.yaml" in printed
        assert main(["verify", "--config", str(config), "--settings.output_dir", str(copy)]) == 1
        printed = capsys.readouterr().out
        assert "is being written now by another run" in printed and "0001" in printed
        assert not (copy / "failures").exists()
    finally:
        holder.release()
    assert main(["plan", "--config", str(config), "--settings.output_dir", str(copy),
                 "--tasks", "1"]) == 0
    assert "being written" not in capsys.readouterr().out
