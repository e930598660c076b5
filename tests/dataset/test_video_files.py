"""The encoders (`video_codec`) and the decoder (`video_reader`), through real libx264 / FFV1."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from lightpipe.dataset.video_codec import (
    H264Options,
    encode_gray16_ffv1,
    encode_gray_h264,
    encode_rgb_ffv1,
    encode_rgb_h264,
)
from lightpipe.dataset.video_reader import VideoReadError, probe, read_gray16, read_rgb

FPS = 24


def smooth_rgb(num_frames: int = 7, height: int = 64, width: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    frames = [
        np.stack([x * 3 + 2 * t, y * 3, (x + y) * 1.5 + 20], axis=-1) for t in range(num_frames)
    ]
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rgb_mp4_round_trip(tmp_path):
    frames = smooth_rgb(num_frames=7)
    path = tmp_path / "color.mp4"
    encode_rgb_h264(path, frames, FPS, H264Options())

    info = probe(path)
    assert (info.num_frames, info.width, info.height) == (7, 64, 64)
    assert info.fps == Fraction(FPS) and info.codec == "h264" and info.pix_fmt == "yuv420p"
    decoded = read_rgb(path)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(np.int16) - frames).mean() < 3


def test_mp4_time_base_and_colour_tags(tmp_path):
    path = tmp_path / "color.mp4"
    encode_rgb_h264(path, smooth_rgb(num_frames=5), FPS, H264Options())
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base == Fraction(1, FPS)
        pts = [packet.pts for packet in container.demux(stream) if packet.size]
        assert sorted(pts) == [0, 1, 2, 3, 4]  # One tick of 1/fps per frame, starting at 0.
        context = stream.codec_context
        assert (context.colorspace, context.color_range) == (6, 1)  # smpte170m (BT.601), tv range.
    assert b"Lavf" not in path.read_bytes()  # Bitexact muxing: no muxer version tag.


def test_rgb_encode_is_byte_identical_in_process_and_in_subprocesses(tmp_path):
    frames = smooth_rgb(num_frames=6)
    paths = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for path in paths:
        encode_rgb_h264(path, frames, FPS, H264Options())
    np.save(tmp_path / "frames.npy", frames)
    # glibc's MALLOC_PERTURB_ fills fresh heap memory with a pattern: any uninitialised read in the
    # encoder (x264's mbtree once did this) then changes the output.
    for perturb in ("0", "85", "170"):
        paths.append(tmp_path / f"child_{perturb}.mp4")
        code = textwrap.dedent(
            f"""
            import numpy as np
            from lightpipe.dataset.video_codec import H264Options, encode_rgb_h264
            frames = np.load({str(tmp_path / "frames.npy")!r})
            encode_rgb_h264({str(paths[-1])!r}, frames, {FPS}, H264Options())
            """
        )
        env = {**os.environ, "MALLOC_PERTURB_": perturb}
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60, env=env)
    assert len({sha256(path) for path in paths}) == 1


@pytest.mark.parametrize("threads", [1, 2])
def test_each_thread_count_is_deterministic_and_pinned(tmp_path, threads):
    frames = smooth_rgb(num_frames=5)
    paths = [tmp_path / f"t{threads}_{i}.mp4" for i in range(2)]
    for path in paths:
        encode_rgb_h264(path, frames, FPS, H264Options(threads=threads))
    assert sha256(paths[0]) == sha256(paths[1])
    sei = paths[0].read_bytes()
    assert f" threads={threads} ".encode() in sei
    assert b" sliced_threads=0 " in sei and b" mbtree=0 " in sei


def test_gray_mp4_is_gray_and_close(tmp_path):
    gray = smooth_rgb(num_frames=5)[..., 0]
    path = tmp_path / "gray.mp4"
    encode_gray_h264(path, gray, FPS, H264Options())
    decoded = read_rgb(path).astype(np.int16)
    assert decoded.shape == (*gray.shape, 3)
    assert (decoded.max(axis=-1) - decoded.min(axis=-1)).max() <= 2
    assert np.abs(decoded[..., 1] - gray).max() <= 6
    assert np.abs(decoded[..., 1] - gray).mean() < 2


def test_gray_mp4_is_the_bytes_of_the_same_frames_as_rgb(tmp_path):
    """The gray path builds yuv420p directly: the same bytes as converting R = G = B frames,
    for every gray level, sharp edges and noise."""
    rng = np.random.default_rng(5)
    gray = rng.integers(0, 256, size=(6, 48, 80), dtype=np.uint8)
    gray[0] = np.arange(48 * 80).reshape(48, 80) % 256  # every level, next to far ones
    gray[1, :, ::2] = 255
    gray[1, :, 1::2] = 0
    for preset in ("veryfast", "ultrafast"):
        options = H264Options(preset=preset, crf=18, threads=2)
        encode_gray_h264(tmp_path / "gray.mp4", gray, FPS, options)
        encode_rgb_h264(tmp_path / "rgb.mp4", np.repeat(gray[..., None], 3, axis=3), FPS, options)
        assert sha256(tmp_path / "gray.mp4") == sha256(tmp_path / "rgb.mp4")


def test_ffv1_round_trip_is_exact_and_byte_identical(tmp_path):
    values = np.random.default_rng(0).integers(0, 65536, size=(5, 64, 64), dtype=np.uint16)
    values[0, 0, :2] = (0, 65535)
    first, second = tmp_path / "a.mkv", tmp_path / "b.mkv"
    encode_gray16_ffv1(first, values, FPS)
    encode_gray16_ffv1(second, values, FPS)
    assert sha256(first) == sha256(second)
    decoded = read_gray16(first)
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, values)
    info = probe(first)
    assert (info.num_frames, info.width, info.height, info.fps) == (5, 64, 64, Fraction(FPS))
    assert (info.codec, info.pix_fmt) == ("ffv1", "gray16le")


def test_read_gray16_rejects_lossy_video(tmp_path):
    path = tmp_path / "color.mp4"
    encode_rgb_h264(path, smooth_rgb(num_frames=5), FPS, H264Options())
    with pytest.raises(VideoReadError, match="pixel format 'yuv420p'; expected one of gray16le"):
        read_gray16(path)


def test_temp_names_with_non_video_suffix(tmp_path):
    names = ("color.mp4", "gray", "depth.mkv")
    color, gray, depth = (tmp_path / f".0000_{name}.tmp-123" for name in names)
    frames = smooth_rgb(num_frames=5)
    encode_rgb_h264(color, frames, FPS, H264Options())
    encode_gray_h264(gray, frames[..., 0], FPS, H264Options())
    encode_gray16_ffv1(depth, frames[..., 0].astype(np.uint16) * 257, FPS)
    assert probe(color).num_frames == probe(gray).num_frames == probe(depth).num_frames == 5
    assert np.array_equal(read_gray16(depth), frames[..., 0].astype(np.uint16) * 257)


RGB = smooth_rgb(num_frames=5)


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        (RGB[:, :, :63], "width=63"),
        (RGB[:, :63], "height=63"),
        (RGB.astype(np.float32), "float32"),
        (RGB[0], "ndim=3"),
        (RGB[:0], "F=0"),
        (np.concatenate([RGB, RGB[..., :1]], axis=-1), r"\(5, 64, 64, 4\)"),
    ],
)
def test_bad_rgb_input_raises(tmp_path, frames, match):
    with pytest.raises(ValueError, match=match):
        encode_rgb_h264(tmp_path / "x.mp4", frames, FPS, H264Options())


def test_bad_gray_depth_and_settings_raise(tmp_path):
    gray = RGB[..., 0]
    with pytest.raises(ValueError, match="width=63"):
        encode_gray_h264(tmp_path / "g.mp4", gray[:, :, :63], FPS, H264Options())
    with pytest.raises(ValueError, match="ndim=4"):
        encode_gray_h264(tmp_path / "g.mp4", RGB, FPS, H264Options())
    with pytest.raises(ValueError, match="got uint8"):
        encode_gray16_ffv1(tmp_path / "d.mkv", gray, FPS)
    with pytest.raises(ValueError, match="F=0"):
        encode_gray16_ffv1(tmp_path / "d.mkv", gray[:0].astype(np.uint16), FPS)
    with pytest.raises(ValueError, match="got 0"):
        encode_rgb_h264(tmp_path / "x.mp4", RGB, 0, H264Options())
    with pytest.raises(ValueError, match="threads.*got 0"):
        H264Options(threads=0)


def _keyframes(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [i for i, packet in enumerate(container.demux(stream))
                if packet.size and packet.is_keyframe]


@pytest.mark.parametrize("interval", [1, 5, 16, 100])
def test_every_file_has_a_keyframe_every_interval_frames(tmp_path, interval):
    rgb = np.random.default_rng(3).integers(0, 256, (33, 32, 32, 3), dtype=np.uint8)
    paths = (tmp_path / "c.mp4", tmp_path / "g.mp4", tmp_path / "d.mkv", tmp_path / "n.mkv")
    encode_rgb_h264(paths[0], rgb, 16, H264Options(keyframe_interval=interval))
    encode_gray_h264(paths[1], rgb[..., 0], 16, H264Options(keyframe_interval=interval))
    encode_gray16_ffv1(paths[2], rgb[..., 0].astype(np.uint16) * 257, 16, interval)
    encode_rgb_ffv1(paths[3], rgb, 16, interval)
    for path in paths:
        assert _keyframes(path) == list(range(0, 33, interval)), path.name


@pytest.mark.parametrize("fps", [7, 16, 30])
def test_a_seeking_read_returns_exactly_the_frames_of_a_full_decode(tmp_path, fps):
    rgb = np.random.default_rng(4).integers(0, 256, (41, 32, 32, 3), dtype=np.uint8)
    color, depth = tmp_path / "c.mp4", tmp_path / "d.mkv"
    encode_rgb_h264(color, rgb, fps, H264Options(keyframe_interval=8))
    encode_gray16_ffv1(depth, rgb[..., 1].astype(np.uint16) * 251, fps, 8)
    everything = read_rgb(color), read_gray16(depth)
    for frames in ([0], [40], [7, 8, 9], [15, 16, 17, 18], [33, 2], [24, 24, 31], [39, 40]):
        assert np.array_equal(read_rgb(color, frames), everything[0][frames]), frames
        assert np.array_equal(read_gray16(depth, frames), everything[1][frames]), frames
    with pytest.raises(VideoReadError, match="has only 41 frames; frame 41 was requested"):
        read_rgb(color, [38, 41])


@pytest.mark.parametrize("stated", [0, 2, 41, 60])
def test_a_full_read_does_not_rely_on_the_frame_count_the_container_states(tmp_path, monkeypatch,
                                                                           stated):
    """Frames are decoded into a result sized by the container's count; a wrong count (none, too
    few, too many) still gives every frame, once, in order."""
    from lightpipe.dataset import video_reader

    rgb = np.random.default_rng(5).integers(0, 256, (41, 32, 32, 3), dtype=np.uint8)
    color, depth = tmp_path / "c.mp4", tmp_path / "d.mkv"
    encode_rgb_h264(color, rgb, 16, H264Options(keyframe_interval=8))
    encode_gray16_ffv1(depth, rgb[..., 2].astype(np.uint16) * 257, 16, 8)
    everything = read_rgb(color), read_gray16(depth)
    monkeypatch.setattr(video_reader, "_frame_count", lambda container, stream: stated)
    again = read_rgb(color), read_gray16(depth)
    assert again[0].shape == (41, 32, 32, 3) and again[1].shape == (41, 32, 32)
    assert np.array_equal(again[0], everything[0]) and np.array_equal(again[1], everything[1])
    assert np.array_equal(everything[1], rgb[..., 2].astype(np.uint16) * 257)
