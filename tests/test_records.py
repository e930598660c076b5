"""Records: `to_dict`/`from_dict` by type hints for specs, settings and per-video metadata."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lightpipe.config.settings import CameraSettings, Settings, VideoSettings
from lightpipe.dataset.meta import VideoMeta
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Motion, Trajectory, VideoSpec
from lightpipe.records import RecordError


def planned(index: int = 0) -> VideoSpec:
    settings = Settings(num_videos=4, video=VideoSettings(64, 64, 2, 8))
    return plan_video(3, settings, index, asset_pools(3, settings))


def test_spec_round_trips_through_json():
    spec = planned()
    again = VideoSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert isinstance(again.camera.trajectory, Trajectory)
    assert isinstance(again.objects[0].motion, Motion) and isinstance(again.objects, tuple)


def test_settings_from_a_partial_mapping_take_the_defaults():
    settings = Settings.from_dict({"num_videos": 3, "video": {"width": 32},
                                   "camera": {"fov_y_deg": [30, 40]}})
    assert settings == replace(Settings(num_videos=3), video=replace(VideoSettings(), width=32),
                               camera=replace(CameraSettings(), fov_y_deg=(30.0, 40.0)))
    assert Settings.from_dict(Settings().to_dict()) == Settings()


def test_unknown_and_missing_keys_are_named_with_their_path():
    data = planned().to_dict()
    data["camera"]["zoom"] = 2.0
    with pytest.raises(RecordError, match=r"camera: unknown keys \['zoom'\] for CameraSpec"):
        VideoSpec.from_dict(data)
    data = planned().to_dict()
    del data["objects"][1]["scale"]
    with pytest.raises(RecordError, match=r"objects\[1\]: missing keys \['scale'\] for ObjectSpec"):
        VideoSpec.from_dict(data)
    with pytest.raises(RecordError, match=r"video: unknown keys \['depth'\] for VideoSettings"):
        Settings.from_dict({"video": {"depth": 3}})


def test_enum_values_are_checked():
    data = planned().to_dict()
    data["camera"]["trajectory"] = "teleport"
    with pytest.raises(RecordError, match=r"camera.trajectory: 'teleport' is not one of "
                                          r"\['orbit', 'dolly', 'pan', 'crane', 'static'\]"):
        VideoSpec.from_dict(data)


def test_video_meta_round_trips_and_omits_absent_extras(tiny_dataset):
    _, root = tiny_dataset
    raw = json.loads((root / "train" / "0001.json").read_text())
    meta = VideoMeta.from_dict(raw)
    assert meta.to_dict() == raw  # the schema is exactly what the writer wrote
    assert meta.segmentation is None and "segmentation" not in raw
    assert meta.spec == VideoSpec.from_dict(raw["spec"])
    assert meta.intrinsics.shape == (3, 3) and meta.extrinsics.shape == (5, 4, 4)
    assert meta.size == (64, 64) and meta.num_frames == 5
