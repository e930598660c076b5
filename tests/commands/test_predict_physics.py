"""Simulated scenes end to end: the real CLI writes the simulation into `NNNN.json`, the
renderer drew exactly those poses, and the dataset identity names the engine."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lightpipe.dataset.meta import VideoMeta
from lightpipe.physics.engine import engine_id
from lightpipe.physics.simulation import body_pose
from lightpipe.render.scene import part_poses, scene_parts

from conftest import run_lightpipe, tiny_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def physics_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("physics")
    config = tiny_config(base / "physics.yaml", base / "out", num_videos=3,
                         outputs=["color", "depth", "segmentation", "objects"],
                         video={"width": 64, "height": 48, "num_frames": 6, "fps": 8},
                         scene={"min_objects": 2, "max_objects": 3},
                         dataset_split={"train_ratio": 1.0})
    run_lightpipe("predict", "--config", str(config))
    return config, base / "out"


def _metas(out):
    return [VideoMeta.from_json((out / "train" / f"{i:04d}.json").read_text()) for i in range(3)]


def test_the_json_holds_the_simulation_the_renderer_drew(physics_run):
    _, out = physics_run
    for meta in _metas(out):
        spec, physics = meta.spec, meta.physics
        assert spec.physics is not None and physics is not None
        assert physics.engine == engine_id()
        assert physics.substeps == spec.physics.step_hz // spec.fps
        assert [b.id for b in physics.bodies] == [2 + k for k in range(len(spec.objects))]
        assert sum(b.thrown for b in physics.bodies) >= 1
        drawn = part_poses(spec, scene_parts(spec))[:, 1:]  # what the renderer composes
        for k, (obj, body) in enumerate(zip(spec.objects, physics.bodies)):
            assert len(body.position) == len(body.quaternion) == spec.num_frames
            from_json = np.stack([body_pose(p, q, obj.scale)
                                  for p, q in zip(body.position, body.quaternion)])
            assert np.array_equal(from_json, drawn[:, k])  # bit for bit
            track = meta.outputs["objects"].objects[k]
            assert track.velocity == body.velocity
            assert track.angular_velocity == body.angular_velocity
        for event in physics.contacts:
            assert 1 <= event.frame < spec.num_frames and event.impulse >= 0
            assert 1 <= event.a < event.b <= 1 + len(spec.objects)


def test_the_identity_names_the_engine_and_kinematic_scenes_have_none(physics_run, tmp_path):
    config, out = physics_run
    identity = json.loads((out / "dataset.json").read_text())["config"]
    assert identity["physics_engine"] == engine_id()
    kinematic = tmp_path / "kinematic"
    run_lightpipe("predict", "--config", str(config), "--settings.output_dir", str(kinematic),
                  "--settings.scene.dynamics", "kinematic", "--settings.num_videos", "1")
    identity = json.loads((kinematic / "dataset.json").read_text())["config"]
    assert "physics_engine" not in identity and "physics" not in identity["settings"]
    meta = json.loads((kinematic / "train" / "0000.json").read_text())
    assert "physics" not in meta and "physics" not in meta["spec"]
    # The same seed and index, the same layout and look: only the motion differs.
    simulated = json.loads((out / "train" / "0000.json").read_text())["spec"]
    assert meta["spec"]["camera"] == simulated["camera"]
    assert [o["asset_id"] for o in meta["spec"]["objects"]] == \
        [o["asset_id"] for o in simulated["objects"]]


def test_a_resume_scan_leaves_the_simulation_unparsed_until_read(physics_run):
    """`VideoMeta.from_json` (what a resume reads for every video) cuts `physics` out unparsed;
    reading it gives the same record as parsing the whole file."""
    _, out = physics_run
    text = (out / "train" / "0000.json").read_text()
    lazy = VideoMeta.from_json(text)
    assert type(lazy.__dict__["_lazy_physics"]).__name__ == "_Deferred"
    eager = VideoMeta.from_dict(json.loads(text))
    assert lazy.physics == eager.physics and lazy.to_dict() == json.loads(text)
