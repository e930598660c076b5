"""Depth encodings: lossless metric uint16 (FFV1) and VACE's inverse-depth visualization.

The numpy code here defines the codes. A writer may pass `fast` (an object with
`valid_range(depth)`, `quantize(frame, near, scale, out)` and `inverse_gray(frame, low, span,
out)`: `native_depth_codes.fast_depth_codes()`) that computes the same values faster.
"""

from __future__ import annotations

import numpy as np

NO_SURFACE = 0
LEVELS = 65534  # codes 1..65535 span [near, far] of the video; 0 marks "no surface"


def quantize_metric(depth: np.ndarray, fast=None) -> tuple[np.ndarray, dict]:
    """Metric planar depth (F,H,W) float32, 0 = no surface -> uint16 codes and their range.

    code = 1 + round((z - near) / (far - near) * 65534); decoding error <= (far-near)/65534/2.
    Works frame by frame: small temporaries, same bits.
    """
    ranges = metric_range(depth, fast)
    codes = np.empty(depth.shape, np.uint16)
    for frame, out in zip(depth, codes):
        quantize_metric_frame(frame, ranges, fast, out)
    return codes, ranges


def metric_range(depth: np.ndarray, fast=None) -> dict:
    """{"near", "far"}: the range `quantize_metric` codes `depth` (F,H,W) over (0 and 0: no
    surface in any frame)."""
    near_far = (fast.valid_range if fast else _valid_range)(depth)
    if near_far is None:
        return {"near": 0.0, "far": 0.0}
    return {"near": near_far[0], "far": near_far[1]}


def quantize_metric_frame(frame: np.ndarray, ranges: dict, fast=None,
                          out: np.ndarray | None = None) -> np.ndarray:
    """One frame (H,W) of `quantize_metric` over `ranges` (`metric_range` of its video), into
    `out` (uint16 (H,W)) or a new array."""
    out = np.empty(frame.shape, np.uint16) if out is None else out
    near, far = ranges["near"], ranges["far"]
    if near == 0.0 and far == 0.0:  # no surface anywhere (a surface is at depth > 0)
        out[...] = NO_SURFACE
        return out
    scale = LEVELS / (far - near) if far > near else 0.0
    if fast:
        fast.quantize(frame, near, scale, out)
        return out
    value = np.floor((frame.astype(np.float64) - near) * scale + 0.5) + 1.0
    out[...] = np.where(frame > 0, np.clip(value, 1, LEVELS + 1), NO_SURFACE)
    return out


def quantized_metric_frames(depth: np.ndarray, ranges: dict, fast=None):
    """`quantize_metric`'s codes of `depth` (F,H,W) one frame at a time, each into the same
    (H,W) buffer: a frame is valid until the next is drawn. For an encoder that copies each
    frame, so no (F,H,W) array is allocated (fresh pages cost the kernel's zeroing)."""
    buffer = np.empty(depth.shape[1:], np.uint16)
    for frame in depth:
        yield quantize_metric_frame(frame, ranges, fast, buffer)


def dequantize_metric(codes: np.ndarray, near: float, far: float) -> np.ndarray:
    """uint16 codes -> metric depth float32 (0 where there is no surface)."""
    if codes.dtype == np.uint16 and codes.size > 1 << 17:  # a table of every code: ~3x faster
        table = _dequantize(np.arange(1 << 16, dtype=np.uint16), near, far)
        if codes.ndim < 3:
            return table[codes]
        depth = np.empty(codes.shape, np.float32)
        for frame, out in zip(codes, depth):  # a frame at a time: the indices stay in cache
            np.take(table, frame, out=out, mode="clip")  # (every uint16 is in the table)
        return depth
    return _dequantize(codes, near, far)


def _dequantize(codes: np.ndarray, near: float, far: float) -> np.ndarray:
    depth = near + (codes.astype(np.float64) - 1.0) * ((far - near) / LEVELS)
    return np.where(codes == NO_SURFACE, 0.0, depth).astype(np.float32)


def inverse_depth_gray(depth: np.ndarray, per_frame: bool = False, fast=None
                       ) -> tuple[np.ndarray, dict]:
    """VACE's depth video: inverse depth normalized to [0,255], near = bright, background = 0.

    Normalized over the whole video (steady, no flicker) or per frame. 1/z is monotonic, so the
    inverse-depth range is (1/far, 1/near) of the valid depths.
    """
    valid_range = fast.valid_range if fast else _valid_range
    ranges = [valid_range(frame) for frame in depth] if per_frame else [valid_range(depth)]
    lows = [0.0 if r is None else 1.0 / np.float64(r[1]) for r in ranges]
    highs = [0.0 if r is None else 1.0 / np.float64(r[0]) for r in ranges]
    gray = np.empty(depth.shape, np.uint8)
    for index, (frame, out) in enumerate(zip(depth, gray)):
        low, high = (lows[index], highs[index]) if per_frame else (lows[0], highs[0])
        span = high - low if high > low else 1.0
        if fast:
            fast.inverse_gray(frame, low, span, out)
            continue
        valid = frame > 0
        inverse = 1.0 / np.where(valid, frame, 1.0).astype(np.float64)
        value = np.floor((inverse - low) / span * 255.0 + 0.5)
        out[...] = np.where(valid, np.clip(value, 0, 255), 0)
    info = {"inverse_depth_min": [float(v) for v in lows],
            "inverse_depth_max": [float(v) for v in highs]}
    if not per_frame:
        info = {k: v[0] for k, v in info.items()}
    return gray, info


def _valid_range(depth: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the positive depths, or None when there are none."""
    valid = depth[depth > 0]
    if valid.size == 0:
        return None
    return float(valid.min()), float(valid.max())
