"""`lightpipe export --format diffsynth`: exact CSVs, incomplete videos left out, errors."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace

import pytest

from lightpipe.commands.dispatch import main
from lightpipe.commands.export import prompt_for, wan_warnings
from lightpipe.config.settings import Settings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Trajectory, VideoSpec


@pytest.fixture
def copy(tiny_dataset, tmp_path):
    target = tmp_path / "ds"
    shutil.copytree(tiny_dataset[1], target)
    return target


def export(root, capsys) -> tuple[int, str, str]:
    code = main(["export", "--format", "diffsynth", "--root", str(root)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_csvs_list_complete_videos_with_relative_paths(copy, capsys):
    (copy / "train" / "0003.json").unlink()
    (copy / "val" / "0009_depth.mp4").write_bytes(b"x" * 10)  # wrong size: incomplete
    code, out, err = export(copy, capsys)
    assert code == 0
    assert err == (f"lightpipe export: skipping 2 incomplete video(s) of '{copy}': 0003, 0009 "
                   "(not rendered yet, failed, a file missing or of the wrong size, or recorded "
                   "for another config or seed; `lightpipe verify` tells which)\n")
    assert out == (f"wrote {copy}/metadata_train.csv (7 videos)\n"
                   f"wrote {copy}/metadata_val.csv (1 videos)\n"
                   f"DiffSynth-Studio: --dataset_base_path {copy} --dataset_metadata_path "
                   f"{copy}/metadata_train.csv --data_file_keys video,vace_video "
                   "--extra_inputs vace_video --num_frames 5 --height 64 --width 64\n")
    for split, indices in (("train", [0, 1, 2, 4, 5, 6, 7]), ("val", [8])):
        text = (copy / f"metadata_{split}.csv").read_text()
        prompts = [prompt_for(VideoSpec.from_dict(
            json.loads((copy / split / f"{i:04d}.json").read_text())["spec"])) for i in indices]
        assert text.splitlines()[0] == "video,vace_video,prompt"
        rows = list(csv.reader(text.splitlines()[1:]))
        assert rows == [[f"{split}/{i:04d}_color.mp4", f"{split}/{i:04d}_depth.mp4", p]
                        for i, p in zip(indices, prompts)]
        assert all(p.startswith("A synthetic 3D render of ") for p in prompts)
    assert sorted(p.name for p in copy.iterdir()) == [
        "dataset.json", "metadata_train.csv", "metadata_val.csv", "train", "val"]  # no temp files


def planned_spec(**camera) -> VideoSpec:
    """A real planned spec, its objects, ground and camera then set by the test."""
    settings = Settings(num_videos=2)
    spec = plan_video(0, settings, 0, asset_pools(0, settings))
    objects = [replace(spec.objects[0], asset_id=a) for a in (
        "builtin:box/01", "builtin:sphere/00", "builtin:box/03", "builtin:torus/02",
        "builtin:torus/00", "builtin:gem/04")]
    still = dict(trajectory=Trajectory.STATIC, orbit_speed_deg_s=0.0, dolly_speed=0.0,
                 pan_speed_deg_s=(0.0, 0.0), crane_speed=0.0, shake_amplitude_deg=0.0)
    return replace(spec, objects=tuple(objects),
                   ground=replace(spec.ground, material_id="builtin:marble/01"),
                   background=replace(spec.background, image_id=""),
                   environment=replace(spec.environment, image_id="", turbidity=2.5),
                   camera=replace(spec.camera, **{**still, **camera}))


@pytest.mark.parametrize("camera,phrase", [
    ({"trajectory": Trajectory.DOLLY, "dolly_speed": -0.3}, "the camera moves closer"),
    ({"trajectory": Trajectory.DOLLY, "dolly_speed": 0.3}, "the camera moves away"),
    ({"trajectory": Trajectory.ORBIT, "orbit_speed_deg_s": 12.0}, "the camera orbits the scene"),
    ({"trajectory": Trajectory.PAN, "pan_speed_deg_s": (3.0, 0.0)}, "the camera pans"),
    ({"trajectory": Trajectory.PAN, "pan_speed_deg_s": (3.0, -1.0)}, "the camera pans and tilts"),
    ({"trajectory": Trajectory.CRANE, "crane_speed": 0.2}, "the camera rises"),
    ({"trajectory": Trajectory.CRANE, "crane_speed": -0.2}, "the camera descends"),
    ({}, "the camera holds still"),
    ({"shake_amplitude_deg": 0.5}, "a handheld camera holds still"),
])
def test_prompt_names_objects_ground_and_camera_motion(camera, phrase):
    assert prompt_for(planned_spec(**camera)) == (
        "A synthetic 3D render of two boxes, a sphere, two tori and a gem on a marble-textured "
        f"ground under a clear sky; {phrase}.")


def test_prompt_names_a_backdrop_image_and_a_single_object():
    spec = planned_spec(trajectory=Trajectory.ORBIT, orbit_speed_deg_s=10.0)
    spec = replace(spec, objects=(replace(spec.objects[0], asset_id="builtin:twisted/00"),),
                   background=replace(spec.background, image_id="user:backgrounds/park.jpg"))
    assert prompt_for(spec) == ("A synthetic 3D render of a twisted shape on a marble-textured "
                                "ground in front of a backdrop image; the camera orbits the scene.")
    hdr = replace(spec, background=replace(spec.background, image_id=""),
                  ground=replace(spec.ground, material_id="builtin:painted_metal/01"),
                  environment=replace(spec.environment, image_id="user:environments/a.hdr"))
    assert prompt_for(hdr) == ("A synthetic 3D render of a twisted shape on a painted "
                               "metal-textured ground lit by a captured environment; the camera "
                               "orbits the scene.")
    dome = replace(hdr, ground=replace(hdr.ground, capture_height=1.6))
    assert prompt_for(dome) == ("A synthetic 3D render of a twisted shape standing in a captured "
                                "environment; the camera orbits the scene.")


@pytest.mark.parametrize("video,expected", [
    ({"num_frames": 81, "width": 832, "height": 480}, []),
    ({"num_frames": 80, "width": 832, "height": 480},
     ["videos have 80 frames; Wan2.1 needs 4n+1 (e.g. 81 = 4*20+1): DiffSynth will use the "
      "first 77"]),
    ({"num_frames": 5, "width": 840, "height": 480},
     ["videos are 840x480; Wan2.1 needs multiples of 16 (e.g. 832x480): pass --width/--height "
      "to DiffSynth"]),
])
def test_wan_frame_and_size_checks(video, expected):
    assert wan_warnings({"config": {"settings": {"video": video}}}) == expected


def test_export_warns_when_wan_cannot_use_the_videos_as_they_are(copy, capsys):
    info = json.loads((copy / "dataset.json").read_text())
    info["config"]["settings"]["video"].update(num_frames=6, width=72)
    (copy / "dataset.json").write_text(json.dumps(info))
    code, out, err = export(copy, capsys)
    assert code == 0
    assert err.splitlines() == [
        "lightpipe export: warning: videos have 6 frames; Wan2.1 needs 4n+1 (e.g. 81 = 4*20+1): "
        "DiffSynth will use the first 5",
        "lightpipe export: warning: videos are 72x64; Wan2.1 needs multiples of 16 (e.g. "
        "832x480): pass --width/--height to DiffSynth"]
    assert out.endswith("--num_frames 5 --height 64 --width 64\n")


def test_export_errors(copy, tmp_path, capsys):
    assert main(["export", "--format", "webdataset", "--root", str(copy)]) == 2
    assert capsys.readouterr().err == (
        "lightpipe export: error: `--format` is 'webdataset'; allowed: diffsynth, vace.\n"
        "see `lightpipe export --help`\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(empty, capsys)[:3:2] == (2, (
        f"lightpipe export: error: '{empty}' is not a Lightpipe dataset: it has no dataset.json."
        "\nHINT: point it at the `settings.output_dir` of a `lightpipe predict` run "
        "(default: output).\nsee `lightpipe export --help`\n"))
    info = json.loads((copy / "dataset.json").read_text())
    (copy / "dataset.json").write_text(json.dumps({**info, "format_version": 7}))
    code, _, err = export(copy, capsys)
    assert code == 2 and "has format_version 7; this Lightpipe reads format_version 1, 2, 3." in err
    assert not (copy / "metadata_train.csv").exists()


def test_printed_arguments_are_shell_quoted(tiny_dataset, tmp_path, capsys):
    """A dataset path with spaces and a quote pastes as one argument each."""
    import shlex

    target = tmp_path / "my data's set"
    shutil.copytree(tiny_dataset[1], target)
    code, out, _ = export(target, capsys)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("DiffSynth-Studio: "))
    words = shlex.split(line.removeprefix("DiffSynth-Studio: "))
    assert words[:4] == ["--dataset_base_path", str(target),
                         "--dataset_metadata_path", str(target / "metadata_train.csv")]


def test_export_by_config_uses_its_output_dir_and_checks_it(tiny_dataset, copy, capsys):
    config, _ = tiny_dataset
    at_copy = ["--config", str(config), "--settings.output_dir", str(copy)]
    assert main(["export", "--format", "diffsynth", *at_copy]) == 0
    assert f"wrote {copy}/metadata_train.csv" in capsys.readouterr().out
    assert main(["export", "--format", "diffsynth", *at_copy, "--project.seed", "8"]) == 2
    assert "another configuration" in capsys.readouterr().err
    assert main(["export", "--format", "diffsynth"]) == 2
    assert "--root" in capsys.readouterr().err
