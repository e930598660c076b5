"""Gray frames to RGB through the table (`gray_rgb`): the bytes of swscale's exact conversion,
on real libx264 files."""

from __future__ import annotations

import av
import numpy as np
import pytest

from lightpipe.dataset import video_reader
from lightpipe.dataset.gray_rgb import GrayTable, gray_frame, is_gray, luma
from lightpipe.dataset.video_codec import H264Options, encode_gray_h264, encode_rgb_h264
from lightpipe.dataset.video_reader import read_rgb

FPS = 8


def gray_video(path, height=64, width=64):
    """Every level next to far ones, sharp edges and noise; returns the decoded frames."""
    rng = np.random.default_rng(3)
    gray = rng.integers(0, 256, size=(6, height, width), dtype=np.uint8)
    gray[0] = np.arange(height * width).reshape(height, width) % 256
    gray[1, :, ::2], gray[1, :, 1::2] = 255, 0
    encode_gray_h264(path, gray, FPS, H264Options(keyframe_interval=4))


def decoded_frames(path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(video=0))


def swscale(frames) -> np.ndarray:
    return np.stack([video_reader._RGB().swscale(frame) for frame in frames])


def test_the_table_is_swscale_for_every_y_code(tmp_path):
    gray_video(tmp_path / "gray.mp4")
    frame = decoded_frames(tmp_path / "gray.mp4")[0]
    table = GrayTable.build(frame, video_reader._RGB().swscale)
    assert table is not None
    # each code alone filling a frame of the video's own size, colour space and range
    for code in range(256):
        flat = gray_frame(frame, np.full((frame.height, frame.width), code, np.uint8))
        rgb = video_reader._RGB().swscale(flat)
        assert (rgb == table.rgb[code]).all(), code
    assert (table.rgb == table.rgb[:, :1]).all()  # gray: R = G = B


def test_gray_h264_frames_go_through_the_table_with_the_same_bytes(tmp_path):
    path = tmp_path / "gray.mp4"
    gray_video(path)
    frames = decoded_frames(path)
    assert all(is_gray(frame) for frame in frames)  # H.264 keeps U = V = 128 exactly
    assert video_reader._gray_table(frames[0]) is not None
    expected = swscale(frames)
    assert np.array_equal(read_rgb(path), expected)
    assert np.array_equal(read_rgb(path, [5, 2, 2]), expected[[5, 2, 2]])
    assert np.array_equal(luma(frames[0]).shape, (64, 64))


def test_colour_frames_keep_swscale(tmp_path):
    path = tmp_path / "color.mp4"
    y, x = np.mgrid[0:64, 0:64]
    rgb = np.stack([x * 4, y * 4, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    encode_rgb_h264(path, np.stack([rgb] * 3), FPS, H264Options())
    frames = decoded_frames(path)
    assert not any(is_gray(frame) for frame in frames)
    assert np.array_equal(read_rgb(path), swscale(frames))


@pytest.mark.parametrize("size", [(8, 16), (66, 34)])
def test_small_and_odd_frames_read_the_same(tmp_path, size):
    """Under 256 pixels there is no table (not every code can be probed): swscale reads them;
    other sizes get a table of their own."""
    path = tmp_path / "gray.mp4"
    gray_video(path, *size)
    frames = decoded_frames(path)
    table = GrayTable.build(frames[0], video_reader._RGB().swscale)
    assert (table is None) == (size[0] * size[1] < 256)
    assert np.array_equal(read_rgb(path), swscale(frames))
