"""Optical flow as colour: the Middlebury colour coding (Baker et al., "A Database and
Evaluation Methodology for Optical Flow", IJCV 2011; the coding RAFT's and `flow_vis`'s
visualizations use), written here from its published description, numpy only.

Conventions:
  * flow (..., 2) in pixels: [..., 0] = dx (to the right), [..., 1] = dy (down, image rows).
  * Hue is the direction: a 55-colour wheel of six segments (red -> yellow 15, yellow -> green
    6, green -> cyan 4, cyan -> blue 11, blue -> magenta 13, magenta -> red 6; the ramped
    channel is floor(255 * i / n) within a segment), indexed by
    fk = (atan2(-dy, -dx) / pi + 1) / 2 * 54 and interpolated linearly between colours
    floor(fk) and floor(fk) + 1 (mod 55). So flow to the right is red, down is orange-yellow,
    left is cyan, up is blue-violet (numpy's atan2 gives -pi for (-0, -1): right is wheel[0]).
  * Saturation is the magnitude: r = |flow| / max_radius; colour = 1 - r * (1 - wheel) for
    r <= 1 (zero flow is white), wheel * 0.75 beyond (darkened, out of the legend's range).
  * Output uint8 = floor(255 * colour) per channel, RGB order. Invalid pixels (valid False, or
    a non-finite dx / dy) are black.
"""

from __future__ import annotations

import numpy as np

__all__ = ["colour_wheel", "flow_image", "flow_to_rgb", "wheel_image"]

# (length, start RGB, channel that ramps, +1 ramps 0 -> 255 / -1 ramps 255 -> 0)
_SEGMENTS = (
    (15, (255, 0, 0), 1, +1),  # red -> yellow: G up
    (6, (255, 255, 0), 0, -1),  # yellow -> green: R down
    (4, (0, 255, 0), 2, +1),  # green -> cyan: B up
    (11, (0, 255, 255), 1, -1),  # cyan -> blue: G down
    (13, (0, 0, 255), 0, +1),  # blue -> magenta: R up
    (6, (255, 0, 255), 2, -1),  # magenta -> red: B down
)


def colour_wheel() -> np.ndarray:
    """The 55 wheel colours, (55, 3) uint8 RGB, starting at red (flow to the right)."""
    rows = []
    for length, start, channel, direction in _SEGMENTS:
        block = np.tile(np.array(start, np.int64), (length, 1))
        ramp = (255 * np.arange(length)) // length
        block[:, channel] = ramp if direction > 0 else 255 - ramp
        rows.append(block)
    return np.concatenate(rows).astype(np.uint8)


def flow_to_rgb(flow: np.ndarray, max_radius: float | None = None,
                valid: np.ndarray | None = None) -> np.ndarray:
    """Flow (H, W, 2) float -> uint8 RGB (H, W, 3) in the Middlebury coding (module docstring).

    max_radius: the magnitude shown fully saturated; None = the largest magnitude among the
    valid pixels (a field with no motion, or none valid, uses 1: all white). valid (H, W) bool:
    pixels to draw; the others are black. Any leading shape (..., 2) works the same way.
    """
    flow = np.asarray(flow)
    if flow.ndim < 1 or flow.shape[-1] != 2:
        raise ValueError(f"flow must have 2 channels (last axis), got shape {flow.shape}")
    dx = flow[..., 0].astype(np.float64)
    dy = flow[..., 1].astype(np.float64)
    draw = np.isfinite(dx) & np.isfinite(dy)
    if valid is not None:
        valid = np.asarray(valid)
        if valid.shape != draw.shape:
            raise ValueError(f"valid must have shape {draw.shape}, got {valid.shape}")
        draw &= valid.astype(bool)
    dx, dy = np.where(draw, dx, 0.0), np.where(draw, dy, 0.0)
    magnitude = np.hypot(dx, dy)
    if max_radius is None:
        max_radius = float(magnitude.max()) if magnitude.size else 0.0
    elif not np.isfinite(max_radius) or max_radius < 0:
        raise ValueError(f"max_radius must be a finite number >= 0, got {max_radius!r}")
    radius = magnitude / (max_radius if max_radius > 0 else 1.0)

    wheel = _WHEEL
    count = len(wheel)
    position = np.arctan2(-dy, -dx)  # -> (atan2 / pi + 1) / 2 * (count - 1), in [0, 54]
    position /= np.pi
    position += 1.0
    position /= 2.0
    position *= count - 1
    k0 = np.floor(position)
    fraction = position - k0
    k0 = k0.astype(np.int64)
    k1 = k0 + 1
    k1[k1 == count] = 0  # (k0 + 1) mod count
    inside = radius <= 1.0
    rgb = np.empty((*dx.shape, 3), np.uint8)
    for channel in range(3):  # one channel at a time: (..., ) temporaries, not (..., 3)
        ramp = wheel[:, channel]
        colour = (1.0 - fraction) * ramp[k0] + fraction * ramp[k1]
        colour = np.where(inside, 1.0 - radius * (1.0 - colour), colour * 0.75)
        rgb[..., channel] = np.floor(255.0 * colour)
    rgb[~draw] = 0
    return rgb


def flow_image(flow: np.ndarray, epsilon: float = 1e-5) -> np.ndarray:
    """One flow field (H, W, 2) -> uint8 RGB (H, W, 3) as RAFT's `flow_viz.flow_to_image` draws
    it (the function VACE's `FlowVisAnnotator` calls on RAFT's float32 flow), in its arithmetic:
    u, v float32; divided by (the field's largest sqrt(u^2 + v^2) + epsilon), a float32 sum
    (numpy 2's promotion rules); rad = sqrt(u^2 + v^2) and the wheel position
    (atan2(-v, -u) / pi + 1) / 2 * 54 in float32; the fraction and the colours in float64
    (float32 - int32 and the wheel / 255.0 promote), colour = 1 - rad * (1 - colour) where
    rad <= 1, colour * 0.75 elsewhere; floor(255 * colour). The same coding as `flow_to_rgb`
    (the module docstring) with RAFT's roundings. The float64 part runs over blocks of pixels
    that stay in cache: ~4x faster than the float64 coding. Any finite flow; a field with no
    motion is white."""
    flow = np.asarray(flow, np.float32)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise ValueError(f"flow must be (H, W, 2), got shape {flow.shape}")
    u, v = flow[..., 0], flow[..., 1]
    rad = np.sqrt(np.square(u) + np.square(v))
    scale = np.max(rad, initial=np.float32(0.0)) + np.float32(epsilon)
    u = (u / scale).reshape(-1)
    v = (v / scale).reshape(-1)
    rad = np.sqrt(np.square(u) + np.square(v))
    fk = np.arctan2(-v, -u)
    fk /= np.float32(np.pi)  # RAFT: `a = arctan2(-v, -u) / np.pi`, a float32 array
    fk += np.float32(1.0)
    fk /= np.float32(2.0)
    fk *= np.float32(len(_WHEEL) - 1)
    k0 = np.floor(fk).astype(np.intp)
    k1 = k0 + 1
    k1[k1 == len(_WHEEL)] = 0
    inside_all = bool(rad.max(initial=0.0) <= 1.0)
    image = np.empty((rad.size, 3), np.uint8)
    buffers = np.empty((5, min(_BLOCK, rad.size)))
    for a in range(0, rad.size, _BLOCK):
        b = min(rad.size, a + _BLOCK)
        f, g, r, col, tmp = buffers[:, : b - a]
        np.subtract(fk[a:b], k0[a:b], out=f)  # RAFT: `f = fk - k0`, float32 - int -> float64
        np.subtract(1.0, f, out=g)
        r[...] = rad[a:b]
        inside = None if inside_all else rad[a:b] <= 1.0
        for channel in range(3):
            ramp = _WHEEL[:, channel]
            np.multiply(g, ramp.take(k0[a:b]), out=col)  # (1 - f) * col0 + f * col1
            np.multiply(f, ramp.take(k1[a:b]), out=tmp)
            col += tmp
            np.subtract(1.0, col, out=tmp)  # inside: 1 - rad * (1 - col)
            tmp *= r
            np.subtract(1.0, tmp, out=tmp)
            if inside is None:
                out = tmp
            else:
                out = col
                out *= 0.75  # outside: col * 0.75
                np.copyto(out, tmp, where=inside)
            out *= 255.0
            image[a:b, channel] = np.floor(out, out=out)
    return image.reshape(*flow.shape[:2], 3)


def wheel_image(size: int) -> np.ndarray:
    """A legend: (size, size, 3) uint8, the coding of flow (x - c, y - c) with c = (size - 1) / 2
    and max_radius = size / 2, inside the disc of that radius; black outside."""
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be an int >= 1, got {size!r}")
    centre = (size - 1) / 2.0
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    flow = np.stack([x - centre, y - centre], axis=-1)
    radius = size / 2.0
    return flow_to_rgb(flow, max_radius=radius, valid=np.hypot(*np.moveaxis(flow, -1, 0)) <= radius)


_WHEEL = colour_wheel().astype(np.float64) / 255.0  # RAFT: `colorwheel[:, i] / 255.0`
_BLOCK = 1 << 14  # pixels of flow_image's float64 part at a time (5 x 128 KiB buffers)
