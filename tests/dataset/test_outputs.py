"""The output registry: one definition per output, and the refusals that come from it."""

from __future__ import annotations

import json

import numpy as np

import pytest

from lightpipe.config.settings import ProjectSettings, Settings, VideoSettings
from lightpipe.config.validation import validate_settings
from lightpipe.dataset import flow_codes
from lightpipe.dataset.layout import Layout
from lightpipe.dataset.meta import VideoMeta
from lightpipe.dataset.outputs import REGISTRY, by_modality, check_outputs, selected
from lightpipe.errors import ConfigError


def test_every_output_is_named_once_with_its_own_files_and_keys():
    modalities = [f.modality for o in REGISTRY.values() for f in o.files]
    suffixes = [f.suffix for o in REGISTRY.values() for f in o.files]
    keys = [k for o in REGISTRY.values() for k in o.reader_keys]
    assert len(set(modalities)) == len(modalities)
    assert len(set(suffixes)) == len(suffixes)
    assert len(set(keys)) == len(keys)
    for name, output in REGISTRY.items():
        assert output.name == name and output.summary
        assert output.files or output.meta_path, name  # something on disk says it is there
        for file in output.files:
            assert file.container in ("mp4", "matroska") and file.codec in ("h264", "ffv1")
    layout = Layout(root=__import__("pathlib").Path("/d"), num_videos=3, num_train=3)
    for modality, (_, file) in by_modality().items():
        assert layout.video_file(1, modality).name == f"0001{file.suffix}"


def test_the_registry_holds_the_new_ground_truth():
    assert {"flow", "object_coordinates", "objects"} <= set(REGISTRY)
    assert [o.name for o in selected(["depth", "color"])] == ["color", "depth_vis", "depth"]
    assert [o.name for o in selected(["color", "depth", "flow"])][-1] == "flow"


@pytest.mark.parametrize("outputs,message", [
    (["color", "depth", "sparkle"],
     r"`settings.outputs` is \['color', 'depth', 'sparkle'\]; allowed: a list of output names "
     r"from: color, depth_vis, depth, segmentation, normals, flow, object_coordinates, objects, "
     r"references"
     r"\.\nHINT: 'sparkle' is not an output Lightpipe knows"),
    (["color", "depth", "flow", "flow"], r"each output at most once"),
    (["color", "flow"], r"includes 'color' and 'depth'"),
])
def test_bad_outputs_are_refused_with_the_names(outputs, message):
    with pytest.raises(ConfigError, match=message):
        check_outputs(outputs, num_frames=5)


def test_flow_needs_two_frames():
    settings = Settings(video=VideoSettings(num_frames=1),
                        outputs=("color", "depth", "flow"))
    with pytest.raises(ConfigError, match=(
            r"^`settings.outputs` is \['color', 'depth', 'flow'\]; allowed: outputs that videos "
            r"of 1 frame\(s\) can have: 'flow' needs settings.video.num_frames >= 2\.\nHINT: drop "
            r"'flow' or raise settings.video.num_frames")):
        validate_settings(ProjectSettings(), settings)
    validate_settings(ProjectSettings(), Settings(video=VideoSettings(num_frames=1),
                                                  outputs=("color", "depth", "objects")))


def test_records_sit_at_their_registry_paths(tiny_dataset):
    _, root = tiny_dataset
    path = next(root.glob("train/*.json"))
    data = json.loads(path.read_text())
    meta = VideoMeta.from_dict(data)
    assert set(meta.outputs) == {"depth", "depth_vis"}
    assert meta.depth.metric is meta.outputs["depth"]
    assert meta.to_dict() == data  # the same JSON, key for key


def test_the_objects_record_is_parsed_only_when_read(tiny_dataset):
    from lightpipe.dataset.meta import _cut_top_level
    from lightpipe.dataset.object_meta import OBJECTS_CONVENTION, ObjectsMeta, ObjectTrack

    _, root = tiny_dataset
    data = json.loads(next(root.glob("train/*.json")).read_text())
    track = ObjectTrack(id=2, asset_id="builtin:box/0", category="box", scale=0.5,
                        bounds=((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0)), visible_pixels=(3, 0),
                        box_visible=((1, 2, 3, 4), None), box_amodal=((0.5, 1.5, 3.5, 4.5), None),
                        box_amodal_clipped=(False, True),
                        box_3d=(((0.0, 0.0, 0.0),) * 8,) * 2,
                        position=((0.0, 1.0, 2.0),) * 2, quaternion=((1.0, 0.0, 0.0, 0.0),) * 2,
                        velocity=((0.0, 0.0, 0.0),) * 2, angular_velocity=((0.0, 0.0, 0.0),) * 2)
    objects = ObjectsMeta(convention=OBJECTS_CONVENTION, objects=(track,))
    data["objects"] = objects.to_dict()
    text = json.dumps(data, sort_keys=True, indent=2) + "\n"  # write_json's layout
    meta = VideoMeta.from_json(text)
    assert dict.__getitem__(meta.outputs, "objects").__class__.__name__ == "_Deferred"
    assert meta.outputs["objects"] == objects  # parsed when read
    assert meta == VideoMeta.from_dict(json.loads(text))
    assert json.loads(json.dumps(meta.to_dict(), sort_keys=True)) == data
    # The last key of an object is cut with the comma before it.
    rest, raw = _cut_top_level('{\n  "a": 1,\n  "objects": {\n    "b": [\n      2\n    ]\n  }\n}\n',
                               "objects")
    assert json.loads(rest) == {"a": 1} and json.loads(raw) == {"b": [2]}
    assert _cut_top_level('{\n  "a": 1\n}\n', "objects") == ('{\n  "a": 1\n}\n', None)


def test_flow_decodes_only_the_direction_a_reader_asks_for(ground_truth_dataset, tmp_path):
    import shutil

    from lightpipe.dataset.index import DatasetIndex
    from lightpipe.dataset.video_reader import VideoReadError

    root = tmp_path / "ds"
    shutil.copytree(ground_truth_dataset[1], root)
    video = DatasetIndex.open(root).complete_videos(("train",))[0]["train"][0]
    files = video.modalities
    every = REGISTRY["flow"].read(files, video.meta)
    files["flow_backward"].unlink()  # never opened when only forward arrays are asked for
    forward = REGISTRY["flow"].read(files, video.meta, keys=("color", "flow_forward"))
    assert set(forward) == {"flow_forward", "flow_forward_flags"}
    assert all((forward[k] == every[k]).all() for k in forward)
    codes = REGISTRY["flow"].read(files, video.meta, keys=("flow_forward_codes",))
    assert set(codes) == {"flow_forward_codes"} and codes["flow_forward_codes"].dtype == np.uint16
    flow, flags = flow_codes.decode_flow(codes["flow_forward_codes"])
    assert (flow == every["flow_forward"]).all() and (flags == every["flow_forward_flags"]).all()
    with pytest.raises(VideoReadError):
        REGISTRY["flow"].read(files, video.meta)
