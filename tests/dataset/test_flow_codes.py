"""Flow / object-coordinate codes, and the 16-bit multi-plane FFV1 video that stores them."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import numpy as np
import pytest

from lightpipe.dataset.flow_codes import (
    FLOW_MAX,
    FLOW_MIN,
    FLOW_SCALE,
    INSIDE,
    OBJECT_LEVELS,
    SATURATED,
    VALID,
    VISIBLE,
    decode_flow,
    decode_object_coordinates,
    encode_flow,
    encode_object_coordinates,
)
from lightpipe.dataset.video_codec import encode_gray16_ffv1, encode_planes16_ffv1
from lightpipe.dataset.video_reader import VideoReadError, probe, read_planes16

FPS = 24


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("channels", "pix_fmt"), [(3, "yuv444p16le"), (4, "yuva444p16le")])
def test_planes_round_trip_exactly_and_byte_identically(tmp_path, channels, pix_fmt):
    rng = np.random.default_rng(channels)
    planes = rng.integers(0, 65536, (5, 67, 131, channels), dtype=np.uint16)  # odd size
    planes.reshape(-1)[:65536] = rng.permutation(65536)  # every value appears
    planes[..., 1] = np.arange(67 * 131)[None].reshape(67, 131)  # each channel distinct
    first, second = tmp_path / "a.mkv", tmp_path / "b.mkv"
    encode_planes16_ffv1(first, planes, FPS, keyframe_interval=2)
    encode_planes16_ffv1(second, planes, FPS, keyframe_interval=2)
    assert sha256(first) == sha256(second)
    decoded = read_planes16(first)
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, planes)  # channel c is c
    info = probe(first)
    assert (info.num_frames, info.width, info.height, info.fps) == (5, 131, 67, Fraction(FPS))
    assert (info.codec, info.pix_fmt) == ("ffv1", pix_fmt)
    for frames in ([3], [4, 0, 4], [1, 2]):
        assert np.array_equal(read_planes16(first, frames), planes[frames]), frames


def test_planes_reject_bad_input_and_other_videos(tmp_path):
    planes = np.zeros((2, 8, 8, 3), np.uint16)
    with pytest.raises(ValueError, match="3 or 4 channels"):
        encode_planes16_ffv1(tmp_path / "x.mkv", planes[..., :2], FPS)
    with pytest.raises(ValueError, match="got uint8"):
        encode_planes16_ffv1(tmp_path / "x.mkv", planes.astype(np.uint8), FPS)
    encode_gray16_ffv1(tmp_path / "g.mkv", planes[..., 0], FPS)
    with pytest.raises(VideoReadError, match="pixel format 'gray16le'"):
        read_planes16(tmp_path / "g.mkv")


def test_flow_error_is_at_most_1_64_px_over_the_whole_range():
    assert (FLOW_MIN, FLOW_MAX, FLOW_SCALE) == (-1024.0, 1023.96875, 32)
    rng = np.random.default_rng(0)
    flow = rng.uniform(-1024.0, 1023.98, (2, 64, 64, 2)).astype(np.float32)
    flow[0, 0, :4] = [[FLOW_MIN, FLOW_MAX], [0.015625, -0.015625], [1023.984, -1024.0156], [0, 0]]
    flags = np.full(flow.shape[:3], VALID | INSIDE | VISIBLE, np.uint8)
    planes, saturated = encode_flow(flow, flags)
    assert planes.dtype == np.uint16 and planes.shape == (2, 64, 64, 3) and saturated == 0
    back, back_flags = decode_flow(planes)
    assert back.dtype == np.float32 and back_flags.dtype == np.uint8
    assert np.abs(back.astype(np.float64) - flow).max() <= 1 / 64
    assert np.array_equal(back_flags, flags)
    assert planes[0, 0, 0, :2].tolist() == [0, 65535]
    assert back[0, 0, 1].tolist() == [0.0, 0.0]  # half a step rounds to even (0)
    assert np.array_equal(decode_flow(encode_flow(back, flags)[0])[0], back)  # codes are fixed


def test_out_of_range_flow_saturates_counts_and_flags():
    flow = np.zeros((1, 2, 4, 2), np.float32)
    flow[0, 0] = [[1023.99, 0], [0, -1024.02], [np.inf, 5], [-3000, 3000]]
    flow[0, 1] = [[5000, 0], [np.nan, 1], [0.5, 0.5], [1023.98, -1024.015]]
    flags = np.full((1, 2, 4), VALID | SATURATED, np.uint8)
    flags[0, 1, :2] = INSIDE  # invalid: anything goes (even NaN), stored as 0, never saturated
    planes, saturated = encode_flow(flow, flags)
    back, back_flags = decode_flow(planes)
    assert saturated == 4
    assert back_flags[0].tolist() == [[VALID | SATURATED] * 4, [INSIDE, INSIDE, VALID, VALID]]
    assert back[0, 0].tolist() == [[FLOW_MAX, 0], [0, FLOW_MIN], [FLOW_MAX, 5],
                                   [FLOW_MIN, FLOW_MAX]]
    assert back[0, 1].tolist() == [[0, 0], [0, 0], [0.5, 0.5], [1023.96875, -1024.0]]
    assert planes[0, 1, :2, :2].tolist() == [[32768, 32768], [32768, 32768]]
    flow[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encode_flow(flow, flags)
    with pytest.raises(ValueError, match="flags plane"):
        decode_flow(np.full((2, 3), 256, np.uint16))


def test_flow_survives_the_video(tmp_path):
    y, x = np.mgrid[0:24, 0:40].astype(np.float32)
    flow = np.stack([np.stack([-(y - 12) * t, (x - 20) * t], -1) for t in (0.1, 0.3, 7.7)])
    flags = np.full(flow.shape[:3], VALID | VISIBLE, np.uint8)
    planes, _ = encode_flow(flow.astype(np.float32), flags)
    encode_planes16_ffv1(tmp_path / "flow.mkv", planes, FPS)
    back, back_flags = decode_flow(read_planes16(tmp_path / "flow.mkv", [2, 0]))
    assert np.array_equal(back, decode_flow(planes[[2, 0]])[0])
    assert np.array_equal(back_flags, flags[[2, 0]])


def test_object_coordinates_round_trip_within_half_a_step():
    rng = np.random.default_rng(2)
    coords = rng.uniform(0, 1, (2, 32, 32, 3)).astype(np.float32)
    coords[0, 0, :2] = [[0, 1, 0.25], [0.75, 0.5, 1 / 3]]
    mask = rng.uniform(size=(2, 32, 32)) < 0.7
    mask[0, 0, :2] = True
    codes = encode_object_coordinates(coords, mask)
    assert codes.dtype == np.uint16 and np.array_equal((codes != 0).all(-1), mask)
    assert not codes[~mask].any()
    assert codes[0, 0, 0].tolist() == [1, 65535, 16385]  # 0.25 * 65534 = 16383.5 -> even 16384
    back, back_mask = decode_object_coordinates(codes)
    assert back.dtype == np.float32 and np.array_equal(back_mask, mask)
    error = np.abs(back.astype(np.float64) - coords)[mask]
    assert error.max() <= 1 / (2 * OBJECT_LEVELS) + 2.0**-25
    assert not back[~mask].any()
    clipped = encode_object_coordinates(np.full((1, 1, 1, 3), 1.5, np.float32),
                                        np.ones((1, 1, 1), bool))
    assert clipped.tolist() == [[[[65535] * 3]]]
