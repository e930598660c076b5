"""Depth codes: quantize and dequantize round-trip; the table path equals the direct formula."""

from __future__ import annotations

import numpy as np

from lightpipe.dataset.depth_codes import LEVELS, _dequantize, dequantize_metric, quantize_metric


def test_the_table_gives_the_formula_bits_for_every_code():
    codes = np.random.default_rng(0).integers(0, 1 << 16, (3, 240, 416), dtype=np.uint16)
    codes[0, 0, :3] = (0, 1, 65535)
    for near, far in ((0.1, 50.0), (2.5, 2.5000001), (1.0, 1000.0)):
        fast = dequantize_metric(codes, near, far)
        assert fast.dtype == np.float32 and fast.shape == codes.shape
        assert np.array_equal(fast.view(np.uint32), _dequantize(codes, near, far).view(np.uint32))


def test_round_trip_error_is_at_most_half_a_step():
    depth = np.random.default_rng(1).uniform(0.5, 30.0, (2, 400, 400)).astype(np.float32)
    depth[0, :10] = 0.0  # no surface
    codes, limits = quantize_metric(depth)
    back = dequantize_metric(codes, limits["near"], limits["far"])
    step = (limits["far"] - limits["near"]) / LEVELS
    assert np.array_equal(back == 0, depth == 0)
    assert np.abs(back - depth).max() <= step / 2 + 1e-6 * limits["far"]


def test_codes_streamed_frame_by_frame_are_the_video_codes_and_encode_to_the_same_bytes(tmp_path):
    """The writer quantizes and encodes frame by frame through one buffer (no (F, H, W) array):
    the same codes as `quantize_metric`, numpy and native, and the same FFV1 file."""
    import pytest

    from lightpipe.dataset.depth_codes import metric_range, quantized_metric_frames
    from lightpipe.dataset.native_depth_codes import fast_depth_codes
    from lightpipe.dataset.video_codec import encode_gray16_ffv1, encode_gray16_ffv1_frames

    rng = np.random.default_rng(2)
    depth = rng.uniform(0.5, 30.0, (4, 48, 64)).astype(np.float32)
    depth[1, :5] = 0.0
    empty = np.zeros((2, 48, 64), np.float32)  # no surface at all: codes 0, range 0..0
    for fast in (None, fast_depth_codes()):
        for video in (depth, empty):
            codes, ranges = quantize_metric(video, fast=fast)
            assert metric_range(video, fast) == ranges
            streamed = [frame.copy() for frame in quantized_metric_frames(video, ranges, fast)]
            assert np.array_equal(np.stack(streamed), codes)
    codes, ranges = quantize_metric(depth)
    encode_gray16_ffv1(tmp_path / "whole.mkv", codes, 16)
    encode_gray16_ffv1_frames(tmp_path / "streamed.mkv", quantized_metric_frames(depth, ranges),
                              depth.shape[1:], 16)
    assert (tmp_path / "whole.mkv").read_bytes() == (tmp_path / "streamed.mkv").read_bytes()
    with pytest.raises(ValueError, match=r"uint16 array of shape \(48, 64\)"):
        encode_gray16_ffv1_frames(tmp_path / "bad.mkv", [codes[0, :, :32]], (48, 64), 16)
