"""Shared test helpers: tiny configs, tiny datasets written in process, the real CLI, tree hashes.

Markers (registered in pyproject.toml): `e2e` runs the real `lightpipe` command in subprocesses
(any test using the `reference` fixture is marked so here), `slow` takes minutes on 2 cores,
`slurm` needs the real single-node SLURM cluster. `make test-fast` runs everything else.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LIGHTPIPE = [str(Path(sys.executable).with_name("lightpipe"))]


def tiny_config(path: Path, output_dir: Path, **settings) -> Path:
    """Write a tiny config (64x64, few frames) and return its path.

    It renders one video at a time (`render.videos_in_flight` 1, where the default is 2): the
    stop, failure and SLURM tests name which videos a stopped task completes. Two in flight, the
    default, is tested in tests/generation/test_in_flight.py (the same bytes)."""
    video = {"width": 64, "height": 64, "num_frames": 5, "fps": 8, **settings.pop("video", {})}
    render = {"videos_in_flight": 1, **settings.pop("render", {})}
    config = {
        "project": {"seed": settings.pop("seed", 7), "name": "tiny"},
        "settings": {"num_videos": 10, "output_dir": str(output_dir), "video": video,
                     "render": render, **settings},
        "trainer": {"accelerator": "cpu", "devices": 1, "enable_progress_bar": False},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def run_lightpipe(*args: str, env: dict | None = None, check: bool = True,
                  timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `lightpipe` command line in a fresh process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run([*LIGHTPIPE, *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"lightpipe {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


@pytest.fixture
def config_factory(tmp_path):
    def make(name: str = "out", **settings) -> tuple[Path, Path]:
        output = tmp_path / name
        return tiny_config(tmp_path / f"{name}.yaml", output, **settings), output
    return make


def settings_of(config: Path):
    """(project, settings) of a config file, parsed exactly as the commands parse it."""
    from lightpipe.commands.parsing import config_parser, parse_config

    _, project, settings = parse_config(config_parser("test", "test"), ["--config", str(config)])
    return project, settings


def write_dataset(config: Path) -> Path:
    """Generate the dataset of `config` in this process, through the real writer (the same
    bytes as `lightpipe predict`); returns its output directory."""
    from lightpipe.dataset.identity import run_layout
    from lightpipe.dataset.output_dir import prepare_output_dir
    from lightpipe.generation.writer import VideoResult, VideoWriter
    from lightpipe.planning.planner import asset_pools, plan_video
    from lightpipe.preemption import StopFlag
    from lightpipe.render.renderer import RenderOptions, render_video

    project, settings = settings_of(config)
    prepare_output_dir(project, settings)
    writer = VideoWriter(run_layout(project, settings), settings.encoder, StopFlag(),
                         settings.outputs)
    pools = asset_pools(project.seed, settings)
    for index in range(settings.num_videos):
        spec = plan_video(project.seed, settings, index, pools)
        video = render_video(spec, options=RenderOptions.from_settings(settings))
        writer.write_video(VideoResult(spec, video))
    return Path(settings.output_dir)


@pytest.fixture(scope="session", autouse=True)
def session_cache_dir(tmp_path_factory):
    """The runs' caches (asset hashes and checks, collision shapes) in a folder of the session,
    not the user's, unless LIGHTPIPE_CACHE_DIR is set: processes started here inherit it."""
    if os.environ.get("LIGHTPIPE_CACHE_DIR"):
        yield
        return
    os.environ["LIGHTPIPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("lightpipe_cache"))
    yield
    os.environ.pop("LIGHTPIPE_CACHE_DIR", None)


@pytest.fixture(scope="session")
def ground_truth_dataset(tmp_path_factory):
    """4 videos (0000-0002 train, 0003 val; 64x64, 5 frames, seed 7) with every output VACE's
    tasks read, two or three objects each, written in process: (config, output dir).
    Read-only: tests that write work on a copy."""
    base = tmp_path_factory.mktemp("ground_truth")
    config = tiny_config(base / "tiny.yaml", base / "out", num_videos=4,
                         outputs=["color", "depth", "segmentation", "normals", "flow", "objects",
                                  "references"],
                         scene={"min_objects": 2, "max_objects": 3},
                         dataset_split={"train_ratio": 0.75})
    return config, write_dataset(config)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """The tiny config's dataset (10 videos, 64x64, 5 frames, seed 7), written in process.
    Read-only: tests that change files work on a copy."""
    base = tmp_path_factory.mktemp("tiny_dataset")
    config = tiny_config(base / "tiny.yaml", base / "out")
    return config, write_dataset(config)


@pytest.fixture(scope="session")
def datasets(tmp_path_factory):
    """Seed 7 and seed 8 of one tiny config (4 videos: 0000-0002 train, 0003 val; 3 frames),
    written in process: {seed: (config, output dir)}. Read-only: work on copies."""
    base = tmp_path_factory.mktemp("two_seeds")
    found = {}
    for seed in (7, 8):
        config = tiny_config(base / f"seed{seed}.yaml", base / f"seed{seed}", seed=seed,
                             num_videos=4, video={"num_frames": 3})
        found[seed] = (config, write_dataset(config))
    return found


def pytest_collection_modifyitems(items):
    for item in items:
        if "reference" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """One uninterrupted 1-process run of the tiny config (10 videos, 64x64, 5 frames, seed 7)."""
    base = tmp_path_factory.mktemp("reference")
    config = tiny_config(base / "tiny.yaml", base / "out")
    proc = run_lightpipe("predict", "--config", str(config))
    return config, base / "out", tree_hashes(base / "out"), proc


RENDER_OUTPUTS = ("color", "depth", "segmentation", "normals", "flow_forward", "flow_backward",
                  "flow_forward_flags", "flow_backward_flags", "object_coordinates")


def feature_specs(assets: Path, count: int = 6) -> list:
    """Videos using every renderer feature: sky and HDR environments, backdrop photos, PBR and
    built-in materials, (video 3) motion blur and depth of field, and an environment ground
    (the first map-lit video without a backdrop photo); 96x64, 5 frames."""
    import dataclasses

    from lightpipe.config.settings import AssetSettings, SceneSettings, Settings, VideoSettings
    from lightpipe.planning.planner import asset_pools, plan_video

    settings = Settings(num_videos=count, scene=SceneSettings(min_objects=3, max_objects=6),
                        video=VideoSettings(width=96, height=64, num_frames=5, fps=8),
                        assets=AssetSettings(root=str(assets), environment_probability=0.5,
                                             background_image_probability=0.5))
    pools = asset_pools(11, settings)
    specs = [plan_video(11, settings, index, pools) for index in range(count)]
    specs[3] = dataclasses.replace(specs[3], camera=dataclasses.replace(
        specs[3].camera, shutter=0.5, f_number=1.0))
    assert {bool(s.environment.image_id) for s in specs} == {True, False}
    dome = next(i for i, s in enumerate(specs)
                if s.environment.image_id and not s.background.image_id)
    specs[dome] = dataclasses.replace(specs[dome], ground=dataclasses.replace(
        specs[dome].ground, capture_height=1.5))
    return specs


def assert_same_renders(specs, reference, fast) -> None:
    """Every output of each spec rendered with the `reference` RenderOptions equals the `fast`
    ones' at 2 and at 1 thread, with other frame chunks."""
    import numpy as np
    import torch

    from lightpipe.render.renderer import render_video

    threads = torch.get_num_threads()
    try:
        for spec in specs:
            expected = render_video(spec, options=reference, frames_per_chunk=2)
            torch.set_num_threads(2)
            two = render_video(spec, options=fast, frames_per_chunk=3)
            torch.set_num_threads(1)
            one = render_video(spec, options=fast, frames_per_chunk=5)
            torch.set_num_threads(threads)
            for name in RENDER_OUTPUTS:
                assert np.array_equal(getattr(expected, name), getattr(two, name)), name
                assert np.array_equal(getattr(expected, name), getattr(one, name)), name
            assert expected.objects == two.objects == one.objects  # None unless asked for
            assert expected.color.std() > 5 and (expected.segmentation > 1).any()  # a real scene
    finally:
        torch.set_num_threads(threads)
