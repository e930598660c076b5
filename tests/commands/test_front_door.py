"""The front door: bad input of every kind, through the real command line, is refused with one
short message naming the key, exit code 2, no traceback, and nothing created."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from asset_files import make_asset_root
from conftest import LIGHTPIPE, REPO, tiny_config

pytestmark = pytest.mark.e2e

FIT = str(REPO / "configs" / "train_example.yaml")
# (command, arguments after the command, text that must name the problem). {config} is a tiny
# config writing to {out}; the other placeholders are files made by the fixture.
CASES = [
    ("predict", ["--project.seed", "-5"], "`project.seed` is -5"),
    ("predict", ["--project.seed", "1180591620717411303424"], "`project.seed`"),
    ("predict", ["--project.seed", "abc"], "`project.seed` is 'abc'"),
    ("predict", ["--trainer.devices", "0"], "`trainer.devices` is 0"),
    ("predict", ["--settings.output_dir", "/proc/foo"], "`settings.output_dir` is '/proc/foo'"),
    ("predict", ["--settings.output_dir", "/sys/foo"], "`settings.output_dir` is '/sys/foo'"),
    ("predict", ["--settings.video.width", "100000"], "`settings.video.width` is 100000"),
    ("predict", ["--trainer.use_distributed_sampler", "true"],
     "`trainer.use_distributed_sampler` is True"),
    ("predict", ["--settings.encoder.preset", "turbo"], "`settings.encoder.preset` is 'turbo'"),
    ("predict", ["--settings.outputs", "[color, foo]"],
     "`settings.outputs` is ['color', 'foo']; allowed: a list of output names from: color, "),
    ("predict", ["--settings.outputs", "[color, depth, flow]", "--settings.video.num_frames",
                 "1"], "'flow' needs settings.video.num_frames >= 2"),
    ("predict", ["--settings.camera.trajectories", "[teleport]"],
     "`settings.camera.trajectories` is 'teleport'"),
    ("predict", ["--config", "{missing}"], "`--config` is '{missing}'"),
    ("predict", ["--config", "{bad_yaml}"], "config file '{bad_yaml}' is not valid YAML at line"),
    ("predict", ["--config", "{list_yaml}"], "config file '{list_yaml}' holds a list"),
    ("predict", ["--settings.num_videos", "0"], "`settings.num_videos` is 0"),
    ("predict", ["--settings.dataset_split.train_ratio", "1.5"],
     "`settings.dataset_split.train_ratio` is 1.5"),
    ("predict", ["--settings.video.height", "63"], "`settings.video.height` is 63"),
    ("predict", ["--settings.video.fps", "0"], "`settings.video.fps` is 0"),
    ("predict", ["--settings.video.num_frames", "0"], "`settings.video.num_frames` is 0"),
    ("predict", ["--settings.encoder.threads", "0"], "`settings.encoder.threads` is 0"),
    ("predict", ["--settings.encoder.crf", "99"], "`settings.encoder.crf` is 99"),
    ("predict", ["--settings.encoder.depth_normalization", "sometimes"],
     "`settings.encoder.depth_normalization` is 'sometimes'"),
    ("predict", ["--settings.camera.fov_y_deg", "[70, 50]"], "`settings.camera.fov_y_deg`"),
    ("predict", ["--settings.camera.shake_probability", "1.5"],
     "`settings.camera.shake_probability` is 1.5"),
    ("predict", ["--settings.camera.exposure_bias_ev", "[-20, 0]"],
     "`settings.camera.exposure_bias_ev`"),
    ("predict", ["--settings.outputs", "[color]"], "`settings.outputs` is ['color']"),
    ("predict", ["--settings.num_vidoes", "3"], "`--settings.num_vidoes` is not a known key"),
    ("predict", ["--settings.output_dir", "{blocker}/out"], "`settings.output_dir`"),
    ("predict", ["--trainer.strategy", "deepspeed"], "`trainer.strategy` is 'deepspeed'"),
    ("predict", ["--trainer.accelerator", "tpu2"], "`trainer.accelerator` is 'tpu2'"),
    ("predict", ["--trainer.num_nodes", "0"], "`trainer.num_nodes` is 0"),
    ("predict", ["--settings.render.antialias", "5"], "`settings.render.antialias` is 5"),
    ("predict", ["--settings.render.max_candidates", "10"],
     "`settings.render.max_candidates` is 10"),
    ("predict", ["--settings.render.motion_blur_samples", "0"],
     "`settings.render.motion_blur_samples` is 0"),
    ("predict", ["--settings.lighting.turbidity", "[1, 20]"], "`settings.lighting.turbidity`"),
    ("predict", ["--settings.lighting.elevation_deg", "[-10, 40]"],
     "`settings.lighting.elevation_deg`"),
    ("predict", ["--settings.materials.metallic_probability", "2"],
     "`settings.materials.metallic_probability` is 2.0"),
    ("predict", ["--settings.scene.max_objects", "1"], "`settings.scene.max_objects` is 1"),
    ("predict", ["--settings.assets.root", "/nonexistent"], "`settings.assets.root`"),
    ("predict", ["--settings.assets.root", "{broken_assets}"],
     "broken.obj' cannot be loaded: a face refers to vertex 3, but the file defines 1 vertices"),
    ("predict", ["--settings.physics.metal.friction", "[-0.5, 0.5]"],
     "`settings.physics.metal.friction` is [-0.5, 0.5]"),
    ("predict", ["--settings.physics.rubber.restitution", "[0.5, 1.5]"],
     "`settings.physics.rubber.restitution` is [0.5, 1.5]"),
    ("predict", ["--settings.physics.wood.density", "[0, 0]"],
     "`settings.physics.wood.density` is [0.0, 0.0]"),
    ("predict", ["--settings.video.fps", "1000000"], "`settings.video.fps` is 1000000"),
    ("predict", ["--settings.video.fps", "25"], "`settings.video.fps` is 25"),
    ("predict", ["--settings.physics.collision", "voxels"],
     "`settings.physics.collision` is 'voxels'"),
    ("predict", ["--settings.assets.root", "{flat_assets}"],
     "mesh '{flat_assets}/objects/flat.obj': no collision shape can be built from it"),
    ("plan", ["--settings.num_videos", "0"], "`settings.num_videos` is 0"),
    ("verify", ["--project.seed", "-1"], "`project.seed` is -1"),
    ("preview", ["--index", "99"], "`--index` is 99"),
    ("export", ["--format", "foo", "--root", "{out}"], "`--format` is 'foo'"),
    ("export", ["--format", "diffsynth", "--root", "{out}"], "'{out}' is not a directory"),
    ("fit", ["--data.root", "{out}"], "'{out}' is not a directory"),
    ("fit", ["--trainer.devices", "0"], "`trainer.devices` is 0"),
]


def invocations(base: Path) -> list[tuple[list[str], Path, str]]:
    """Every case as (argv, output_dir, expected text), with its files made under `base`
    (also used by benchmarks/rejection_time.py)."""
    paths = {"missing": str(base / "missing.yaml"), "bad_yaml": str(base / "bad.yaml"),
             "list_yaml": str(base / "list.yaml"), "blocker": str(base / "a_file"),
             "broken_assets": str(base / "assets"), "flat_assets": str(base / "flat_assets")}
    Path(paths["bad_yaml"]).write_text("project:\n  seed: 7\n settings: [\n")
    Path(paths["list_yaml"]).write_text("- a\n- b\n")
    Path(paths["blocker"]).write_text("x")
    make_asset_root(Path(paths["broken_assets"]))
    (Path(paths["broken_assets"]) / "objects" / "broken.obj").write_text("v 0 0 0\nf 1 2 3\n")
    make_asset_root(Path(paths["flat_assets"]))  # a flat square: no solid to simulate
    (Path(paths["flat_assets"]) / "objects" / "flat.obj").write_text(
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n")
    result = []
    for i, (command, args, expected) in enumerate(CASES):
        out = base / f"out{i}"
        config = tiny_config(base / f"c{i}.yaml", out)
        values = {**paths, "out": str(out), "config": str(config)}
        argv = [a.format(**values) for a in args]
        if command in ("predict", "plan", "verify", "preview") and "--config" not in argv:
            argv = ["--config", str(config), *argv]
        if command == "fit":
            argv = ["--config", FIT, *(["--data.root", str(out)] if "--data.root" not in argv
                                       else []), *argv]
        result.append(([*LIGHTPIPE, command, *argv], out, expected.format(**values)))
    return result


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Every case through the real CLI, concurrently: (exit code, stderr, seconds, paths)."""
    base = tmp_path_factory.mktemp("front_door")
    runs = []
    for argv, out, expected in invocations(base):
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        runs.append((proc, started, out, expected))
    results = []
    for proc, started, out, expected in runs:
        _, err = proc.communicate(timeout=300)
        results.append((proc.returncode, err, time.monotonic() - started, out, expected))
    return results


def test_the_table_covers_at_least_35_bad_inputs():
    assert len(CASES) >= 35


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0]} {' '.join(c[1])[:40]}" for c in CASES])
def test_bad_input_is_refused_in_one_short_message(refusals, case):
    code, err, _, out, expected = refusals[case]
    assert code == 2, err
    assert "Traceback" not in err
    assert expected in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 4, err
    assert lines[-1].startswith("see `lightpipe ") and lines[-1].endswith(" --help`")
    assert not out.exists()  # nothing created under output_dir
