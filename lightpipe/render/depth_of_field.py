"""Depth of field of a thin lens, as a gather on the rendered radiance (colour only).

The circle of confusion of each pixel follows from its depth, the focus distance (the camera's
target), the focal length (from the intrinsics, with a 36 mm-wide sensor) and the f-number.
Each pixel averages a fixed disc of taps scaled to its own circle, keeping only the taps whose
own circle reaches back to it (so a sharp foreground does not bleed into a blurred
background); sums in a fixed order, so the bits are the same everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

SENSOR_WIDTH = 0.036  # metres (a full-frame sensor)
MAX_RADIUS = 8.0  # pixels
RINGS = ((0.0, 1), (0.4, 6), (0.75, 10), (1.0, 14))  # (radius fraction, taps) of the disc


def _taps() -> list[tuple[float, float]]:
    taps = []
    for fraction, count in RINGS:
        for i in range(count):
            angle = 2.0 * math.pi * (i + 0.5 * (count % 2)) / count
            taps.append((fraction * math.cos(angle), fraction * math.sin(angle)))
    return taps


TAPS = _taps()


@dataclass(frozen=True)
class Lens:
    """Per video: coc_scale * |1/focus - 1/z| is a pixel's circle radius in pixels."""

    coc_scale: float
    inverse_focus: float
    width: int
    height: int

    @classmethod
    def create(cls, spec, intrinsics: np.ndarray, device) -> Lens:
        camera = spec.camera
        focal = float(intrinsics[0, 0]) * SENSOR_WIDTH / spec.width  # metres
        focus = max(camera.distance, 2.0 * focal)  # focused on the target, at its distance
        aperture = focal / camera.f_number
        # Thin lens: circle diameter on the sensor = aperture * focal * |1/focus - 1/z| / (1 -
        # focal / focus), in pixels / 2 for the radius.
        pixels_per_metre = spec.width / SENSOR_WIDTH
        scale = 0.5 * aperture * focal / (1.0 - focal / focus) * pixels_per_metre
        return cls(scale, 1.0 / focus, spec.width, spec.height)

    def blur(self, radiance: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """(3, H*W) radiance blurred by the circles of `depth` (H*W,; 0 = sky, at infinity)."""
        h, w = self.height, self.width
        inverse_depth = torch.where(depth > 0, torch.reciprocal(depth.clamp(min=1e-6)), 0.0)
        radius = (self.coc_scale * (inverse_depth - self.inverse_focus).abs()).clamp(
            max=MAX_RADIUS)
        pixel = torch.arange(h * w, device=radiance.device)
        py = torch.div(pixel, w, rounding_mode="floor")
        px = pixel - py * w
        total = torch.zeros_like(radiance)
        weight = torch.zeros_like(depth)
        for dx, dy in TAPS:
            x = torch.floor(px + dx * radius + 0.5).clamp(0, w - 1)
            y = torch.floor(py + dy * radius + 0.5).clamp(0, h - 1)
            index = (y * w + x).long()
            reach = radius.index_select(0, index)  # the tap's own circle
            distance = radius * math.hypot(dx, dy)
            keep = torch.where(reach + 0.5 >= distance, 1.0, 0.0)
            total = total + radiance.index_select(1, index) * keep
            weight = weight + keep
        return total / weight.clamp(min=1.0)
