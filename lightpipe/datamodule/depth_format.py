"""Depth encodings: lossless metric uint16 (FFV1) and VACE's inverse-depth visualization."""

from __future__ import annotations

import numpy as np

NO_SURFACE = 0
LEVELS = 65534  # codes 1..65535 span [near, far] of the video; 0 marks "no surface"


def quantize_metric(depth: np.ndarray) -> tuple[np.ndarray, dict]:
    """Metric planar depth (F,H,W) float32, 0 = no surface -> uint16 codes and their range.

    code = 1 + round((z - near) / (far - near) * 65534); decoding error <= (far-near)/65534/2.
    """
    valid = depth > 0
    if not valid.any():
        return np.zeros(depth.shape, np.uint16), {"near": 0.0, "far": 0.0}
    near, far = float(depth[valid].min()), float(depth[valid].max())
    scale = LEVELS / (far - near) if far > near else 0.0
    codes = np.floor((depth.astype(np.float64) - near) * scale + 0.5) + 1.0
    codes = np.where(valid, np.clip(codes, 1, LEVELS + 1), NO_SURFACE).astype(np.uint16)
    return codes, {"near": near, "far": far}


def dequantize_metric(codes: np.ndarray, near: float, far: float) -> np.ndarray:
    """uint16 codes -> metric depth float32 (0 where there is no surface)."""
    depth = near + (codes.astype(np.float64) - 1.0) * ((far - near) / LEVELS)
    return np.where(codes == NO_SURFACE, 0.0, depth).astype(np.float32)


def inverse_depth_gray(depth: np.ndarray, per_frame: bool = False) -> tuple[np.ndarray, dict]:
    """VACE's depth video: inverse depth normalized to [0,255], near = bright, background = 0.

    Normalized over the whole video (steady, no flicker) or per frame.
    """
    valid = depth > 0
    inverse = np.where(valid, 1.0 / np.where(valid, depth, 1.0).astype(np.float64), 0.0)
    axes = (1, 2) if per_frame else None
    big = np.where(valid, inverse, np.inf)
    small = np.where(valid, inverse, -np.inf)
    low = np.min(big, axis=axes, keepdims=True)
    high = np.max(small, axis=axes, keepdims=True)
    low = np.where(np.isfinite(low), low, 0.0)
    high = np.where(np.isfinite(high), high, 0.0)
    span = np.where(high > low, high - low, 1.0)
    gray = np.floor((inverse - low) / span * 255.0 + 0.5)
    gray = np.where(valid, np.clip(gray, 0, 255), 0).astype(np.uint8)
    info = {"inverse_depth_min": low.ravel().tolist(), "inverse_depth_max": high.ravel().tolist()}
    if not per_frame:
        info = {k: v[0] for k, v in info.items()}
    return gray, info
