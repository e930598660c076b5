"""The writer in process: files then the JSON (the commit marker), failures recorded, no temps."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lightpipe.atomic_io import is_temp, sha256_file
from lightpipe.config.settings import EncoderSettings, ProjectSettings, Settings, VideoSettings
from lightpipe.dataset.depth_codes import dequantize_metric
from lightpipe.dataset.identity import run_layout
from lightpipe.dataset.meta import VideoMeta, VideoStatus
from lightpipe.dataset.video_reader import read_gray16, read_rgb
from lightpipe.generation.writer import VideoResult, VideoWriter
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.preemption import StopFlag
from lightpipe.render.renderer import RenderOptions, render_video

SETTINGS = Settings(num_videos=3, video=VideoSettings(64, 48, 3, 8),
                    outputs=("color", "depth", "segmentation", "normals"))


@pytest.fixture(scope="module")
def rendered():
    pools = asset_pools(5, SETTINGS)
    spec = plan_video(5, SETTINGS, 2, pools)
    return spec, render_video(spec, options=RenderOptions.from_settings(SETTINGS))


def writer_in(root: Path, encoder: EncoderSettings = EncoderSettings()) -> VideoWriter:
    layout = run_layout(ProjectSettings(seed=5), replace(SETTINGS, output_dir=str(root)))
    return VideoWriter(layout, encoder, StopFlag(), SETTINGS.outputs)


def test_every_file_then_the_json(tmp_path, rendered):
    spec, video = rendered
    writer = writer_in(tmp_path)
    meta = writer.write_video(VideoResult(spec, video))
    folder = tmp_path / "val"
    assert sorted(p.name for p in folder.iterdir()) == [
        "0002.json", "0002_color.mp4", "0002_depth.mkv", "0002_depth.mp4",
        "0002_normals.mkv", "0002_segmentation.mkv"]
    assert VideoMeta.from_dict(json.loads((folder / "0002.json").read_text())) == meta
    for name, entry in meta.files.items():
        assert (entry.bytes, entry.sha256) == ((folder / name).stat().st_size,
                                               sha256_file(folder / name))
    check = writer.layout.check(2, hashes=True)
    assert check.status is VideoStatus.COMPLETE and check.meta == meta
    assert meta.segmentation.ids == {"0": "no surface (sky or backdrop)", "1": "ground",
                                     **{str(k + 2): o.asset_id for k, o in enumerate(spec.objects)}}
    metric = meta.depth.metric
    depth = dequantize_metric(read_gray16(folder / "0002_depth.mkv"), metric.near, metric.far)
    assert np.array_equal(depth > 0, video.depth > 0)
    assert np.abs(depth - video.depth).max() <= (metric.far - metric.near) / 65534
    assert np.array_equal(read_gray16(folder / "0002_segmentation.mkv"), video.segmentation)
    assert read_rgb(folder / "0002_color.mp4").shape == (3, 48, 64, 3)


def test_the_same_video_gives_the_same_bytes(tmp_path, rendered):
    spec, video = rendered
    first = writer_in(tmp_path / "a").write_video(VideoResult(spec, video))
    again = writer_in(tmp_path / "b").write_video(VideoResult(spec, video))
    assert first == again


def test_an_encoder_failure_leaves_no_json_and_no_temp_and_is_recorded(tmp_path, rendered):
    spec, video = rendered
    broken = replace(video, color=video.color[:, :47])  # odd height: yuv420p refuses it
    writer = writer_in(tmp_path)
    writer.setup(None, None, "predict")
    writer.write_on_batch_end(None, None, VideoResult(spec, broken), None, None, 0, 0)
    writer.close()
    assert writer.failed == [2] and writer.rendered == []
    assert writer.layout.check(2).status is VideoStatus.FAILED
    record = writer.layout.failure_file(2).read_text()
    assert record.startswith("video 2\n") and "yuv420p needs even frame height" in record
    assert not [p for p in tmp_path.rglob("*") if is_temp(p)]
    assert not writer.layout.meta_file(2).exists()

    writer.write_video(VideoResult(spec, video))  # a later success removes the record
    assert writer.layout.check(2).complete and not writer.layout.failure_file(2).exists()


def test_a_render_error_is_recorded_without_encoding(tmp_path, rendered):
    spec, _ = rendered
    writer = writer_in(tmp_path)
    writer.setup(None, None, "predict")
    writer.write_on_batch_end(None, None, VideoResult(spec, error="Traceback: boom"), None, None,
                              0, 0)
    writer.close()
    assert writer.failed == [2]
    assert writer.layout.failure_file(2).read_text() == "video 2\nTraceback: boom"
    assert not (tmp_path / "val").exists()
