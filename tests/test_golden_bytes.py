"""Recorded bytes: fixed tiny configs must write exactly the recorded trees.

Every file's sha256 is compared (a per-video JSON without its `versions` block, which names the
installed library versions). A failure means the bytes of existing datasets changed. If that is
on purpose, bump `RENDERER_VERSION` (lightpipe/dataset/identity.py) or `FORMAT_VERSION`
(lightpipe/dataset/layout.py), say so, and re-record:

    .venv/bin/python tests/test_golden_bytes.py --record
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
import yaml

GOLDEN = Path(__file__).with_name("golden_trees.json")
CONFIGS = {
    "tiny": {"project": {"seed": 7, "name": "tiny"},
             "settings": {"num_videos": 10,
                          "video": {"width": 64, "height": 64, "num_frames": 5, "fps": 8}}},
    "features": {"project": {"seed": 3, "name": "features"},
                 "settings": {"num_videos": 6,
                              "video": {"width": 64, "height": 48, "num_frames": 6, "fps": 12},
                              "dataset_split": {"train_ratio": 0.5},
                              "outputs": ["color", "depth", "segmentation", "normals"],
                              "encoder": {"preset": "ultrafast", "crf": 23, "threads": 1,
                                          "depth_normalization": "per_frame"},
                              "render": {"antialias": 3},
                              "camera": {"shake_probability": 1.0}}},
    # Scripted motions, and motion blur (sub-frame instants) on both kinds of scene.
    "kinematic": {"project": {"seed": 5, "name": "kinematic"},
                  "settings": {"num_videos": 4,
                               "video": {"width": 64, "height": 48, "num_frames": 6, "fps": 12},
                               "scene": {"dynamics": "kinematic"},
                               "camera": {"motion_blur": True}}},
    "physics_blur": {"project": {"seed": 9, "name": "physics_blur"},
                     "settings": {"num_videos": 3,
                                  "video": {"width": 64, "height": 48, "num_frames": 6,
                                            "fps": 12},
                                  "outputs": ["color", "depth", "objects"],
                                  "camera": {"motion_blur": True}}},
}

pytestmark = pytest.mark.e2e


def normalized_sha256(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".json":
        record = json.loads(data)
        record.pop("versions", None)
        data = json.dumps(record, sort_keys=True, indent=2).encode()
    return hashlib.sha256(data).hexdigest()


def generate(base: Path) -> dict[str, dict[str, str]]:
    """Run `lightpipe predict` for every config (concurrently) and hash the trees."""
    procs = {}
    for name, config in CONFIGS.items():
        config = json.loads(json.dumps(config))
        config["settings"]["output_dir"] = str(base / name)
        config["trainer"] = {"accelerator": "cpu", "devices": 1, "enable_progress_bar": False}
        path = base / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "lightpipe.commands.dispatch", "predict", "--config", str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}:\n{output[-3000:]}"
    return {name: {p.relative_to(base / name).as_posix(): normalized_sha256(p)
                   for p in sorted((base / name).rglob("*")) if p.is_file()}
            for name in CONFIGS}


def test_fixed_configs_write_the_recorded_bytes(tmp_path):
    golden = json.loads(GOLDEN.read_text())
    assert av.__version__ == golden["av"], (
        f"PyAV {av.__version__} is installed, the trees were recorded with {golden['av']}: its "
        "bundled x264/FFmpeg may write other bytes. Install the pinned version (constraints.txt).")
    trees = generate(tmp_path)
    for name in CONFIGS:
        changed = sorted(f for f in golden["trees"][name]
                         if trees[name].get(f) != golden["trees"][name][f])
        added = sorted(set(trees[name]) - set(golden["trees"][name]))
        assert (changed, added) == ([], []), f"{name}: the bytes of these files changed"


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit(__doc__)
    import tempfile

    with tempfile.TemporaryDirectory() as base:
        trees = generate(Path(base))
    GOLDEN.write_text(json.dumps({"av": av.__version__, "trees": trees}, indent=1,
                                 sort_keys=True) + "\n")
    print(f"recorded {GOLDEN}")
