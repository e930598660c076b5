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
