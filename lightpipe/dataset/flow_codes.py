"""Fixed-point optical flow and object coordinates as uint16 planes (the on-disk contract).

Stored with `video_codec.encode_planes16_ffv1` (lossless), read with
`video_reader.read_planes16`. The numpy code here defines the codes.

Optical flow, planes (F, H, W, 3) uint16:
  plane 0 = dx code, plane 1 = dy code, in pixels, x to the right and y down (image axes);
  plane 2 = per-pixel flags (the uint8 bits below, widened to uint16: the high byte is 0).
  code = clip(rint(flow * FLOW_SCALE), -32768, 32767) + 32768, FLOW_SCALE = 32 (1/32 px steps).
  rint is numpy's round half to even, applied in float32: multiplying by a power of two is
  exact, so the code is the exactly rounded value of the input, the same on every machine.
  decode: flow = (code - 32768) / 32, exact in float32.
  Representable flow: [-1024, 1023.96875] px (codes -32768..32767 over 32). Flow that rounds
  into that range, i.e. flow * 32 in [-32768.5, 32767.5) (with half to even, -32768.5 -> -32768
  and 32767.5 -> 32768), decodes with error <= 1/64 px = 1 / (2 * FLOW_SCALE). Anything beyond
  (including +-inf) is clipped to the nearest end and the pixel gets the SATURATED flag.
  Invalid pixels (flags & VALID == 0) store code 32768 (flow 0), whatever their input flow.

Object coordinates, codes (F, H, W, 3) uint16:
  code = 1 + rint(c * 65534) where mask (c in [0, 1], clipped to it; half to even, exact in
  float64), 0 elsewhere: 0 marks ground / sky / no object. decode: c = (code - 1) / 65534,
  error <= 1 / (2 * 65534) (plus the float32 rounding of the decoded value, <= 2**-25).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FLOW_MAX",
    "FLOW_MIN",
    "FLOW_SCALE",
    "INSIDE",
    "OBJECT_LEVELS",
    "SATURATED",
    "VALID",
    "VISIBLE",
    "decode_flow",
    "decode_object_coordinates",
    "encode_flow",
    "encode_object_coordinates",
]

# Flag bits of plane 2 (uint8 values; the renderer writes the same bits).
VALID = 1  # the pixel has a flow vector (a surface seen in this frame)
INSIDE = 2  # the point lands inside the image in the target frame
VISIBLE = 4  # the point is not occluded in the target frame
SATURATED = 8  # the flow was out of range and its code clipped (set by `encode_flow` only)
# VISIBLE: one of the 2x2 pixels around the target has |depth - z'| <= VISIBLE_TOLERANCE * z'
# (`render.motion`): 2% keeps the ground VISIBLE down to ~25 rows below the horizon.
VISIBLE_TOLERANCE = 0.02

FLOW_SCALE = 32  # codes per pixel: steps of 1/32 px, error <= 1/64 px
_CODE_MIN, _CODE_MAX = -32768, 32767
_OFFSET = 32768  # stored = code + 32768, so the stored uint16 of flow 0 is 32768
FLOW_MIN = _CODE_MIN / FLOW_SCALE  # -1024.0 px
FLOW_MAX = _CODE_MAX / FLOW_SCALE  # 1023.96875 px

OBJECT_LEVELS = 65534  # object-coordinate codes 1..65535 span [0, 1]; 0 = no object


def encode_flow(flow: np.ndarray, flags: np.ndarray, fast=None) -> tuple[np.ndarray, int]:
    """Flow (F, H, W, 2) float32 in pixels and flags (F, H, W) uint8 -> (planes, saturated).

    planes (F, H, W, 3) uint16: dx code, dy code, flags. The SATURATED bit of the output is
    computed here (the input's bit is ignored): set on the valid pixels where dx or dy was
    out of range (clipped). `saturated` = the number of such pixels. NaN flow on a valid pixel
    raises ValueError; invalid pixels may hold anything (they get code 32768 = flow 0).
    `fast` (`native_output_codes.fast_output_codes()`) computes the same planes in C.
    """
    flow, flags = _check_flow(flow, flags)
    shape = flags.shape + (3,)
    planes = fast.zeros(shape, np.uint16) if fast else np.empty(shape, np.uint16)
    total = 0
    for f in range(flags.shape[0]):  # frame by frame: small temporaries
        if fast:
            count = fast.flow(flow[f], flags[f], planes[f], FLOW_SCALE, VALID, SATURATED,
                              _CODE_MIN, _CODE_MAX, _OFFSET)
            if count is None:
                raise ValueError(f"flow has NaN on valid pixels of frame {f}")
            total += count
            continue
        valid = (flags[f] & VALID) != 0
        with np.errstate(over="ignore"):  # |flow| > 2**123 -> inf: saturates like any other
            codes = np.multiply(flow[f], np.float32(FLOW_SCALE))  # exact: a power of two
        codes[~valid] = 0.0
        if np.isnan(codes).any():
            raise ValueError(f"flow has NaN on valid pixels of frame {f}")
        np.rint(codes, out=codes)
        saturated = ((codes < _CODE_MIN) | (codes > _CODE_MAX)).any(axis=-1)
        np.clip(codes, _CODE_MIN, _CODE_MAX, out=codes)
        codes += np.float32(_OFFSET)  # exact: integers <= 65535 in float32
        planes[f, ..., :2] = codes  # float -> uint16 of integral values in [0, 65535]
        planes[f, ..., 2] = (flags[f] & np.uint8(~SATURATED & 0xFF)) | np.where(
            saturated, SATURATED, 0).astype(np.uint8)
        total += int(saturated.sum())
    return planes, total


def decode_flow(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """planes (..., 3) uint16 -> (flow (..., 2) float32 in pixels, flags (...) uint8).

    Exact inverse of the code (flow = (stored - 32768) / 32); invalid pixels decode as they
    were stored (flow 0). A flags plane with a value > 255 is not Lightpipe's: ValueError.
    """
    if not isinstance(planes, np.ndarray) or planes.dtype != np.uint16 or planes.ndim < 1 \
            or planes.shape[-1] != 3:
        raise ValueError(f"planes must be uint16 with 3 channels (last axis), got "
                         f"{getattr(planes, 'dtype', type(planes).__name__)} "
                         f"{getattr(planes, 'shape', '')}")
    flow = np.empty((*planes.shape[:-1], 2), np.float32)
    flags = np.empty(planes.shape[:-1], np.uint8)
    frames = planes.reshape(-1, *planes.shape[-3:]) if planes.ndim > 3 else planes[None]
    for frame, out, flag in zip(frames, flow.reshape(*frames.shape[:-1], 2),
                                flags.reshape(frames.shape[:-1])):  # a frame at a time: in cache
        if frame[..., 2].max(initial=0) > 0xFF:
            raise ValueError("flags plane holds values > 255: not a Lightpipe flow video")
        np.subtract(frame[..., :2], np.float32(_OFFSET), out=out, dtype=np.float32)
        out /= np.float32(FLOW_SCALE)
        flag[...] = frame[..., 2]
    return flow, flags


def encode_object_coordinates(coords: np.ndarray, mask: np.ndarray, fast=None) -> np.ndarray:
    """coords (F, H, W, 3) float32 in [0, 1] and mask (F, H, W) bool -> codes (F, H, W, 3) uint16.

    code = 1 + rint(clip(c, 0, 1) * 65534) where mask, 0 elsewhere. NaN where mask raises.
    `fast` (`native_output_codes.fast_output_codes()`) computes the same codes in C.
    """
    if not isinstance(coords, np.ndarray) or coords.dtype != np.float32 or coords.ndim != 4 \
            or coords.shape[-1] != 3:
        raise ValueError(f"coords must be float32 (F, H, W, 3), got "
                         f"{getattr(coords, 'dtype', type(coords).__name__)} "
                         f"{getattr(coords, 'shape', '')}")
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != coords.shape[:3]:
        raise ValueError(f"mask must be bool {coords.shape[:3]}, got "
                         f"{getattr(mask, 'dtype', type(mask).__name__)} "
                         f"{getattr(mask, 'shape', '')}")
    codes = fast.zeros(coords.shape, np.uint16) if fast else np.zeros(coords.shape, np.uint16)
    for f in range(coords.shape[0]):
        if fast:
            if not fast.object_coordinates(coords[f], mask[f], OBJECT_LEVELS, codes[f]):
                raise ValueError(f"coords has NaN on masked pixels of frame {f}")
            continue
        inside = coords[f][mask[f]]  # (N, 3)
        if np.isnan(inside).any():
            raise ValueError(f"coords has NaN on masked pixels of frame {f}")
        # float32 * 65534 is exact in float64 (24 + 16 bits < 53), so rint sees the true value.
        value = np.rint(np.clip(inside.astype(np.float64), 0.0, 1.0) * OBJECT_LEVELS) + 1.0
        codes[f][mask[f]] = value.astype(np.uint16)
    return codes


def decode_object_coordinates(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """codes (..., 3) uint16 -> (coords (..., 3) float32 in [0, 1], mask (...) bool).

    mask = any channel nonzero (the encoder writes all three >= 1 or all 0); coords are 0
    where not mask.
    """
    if not isinstance(codes, np.ndarray) or codes.dtype != np.uint16 or codes.ndim < 1 \
            or codes.shape[-1] != 3:
        raise ValueError(f"codes must be uint16 with 3 channels (last axis), got "
                         f"{getattr(codes, 'dtype', type(codes).__name__)} "
                         f"{getattr(codes, 'shape', '')}")
    mask = (codes != 0).any(axis=-1)
    coords = (codes.astype(np.float64) - 1.0) / OBJECT_LEVELS
    coords = np.where(mask[..., None], coords, 0.0).astype(np.float32)
    return coords, mask


def _check_flow(flow, flags) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(flow, np.ndarray) or flow.dtype != np.float32 or flow.ndim != 4 \
            or flow.shape[-1] != 2:
        raise ValueError(f"flow must be float32 (F, H, W, 2), got "
                         f"{getattr(flow, 'dtype', type(flow).__name__)} "
                         f"{getattr(flow, 'shape', '')}")
    if not isinstance(flags, np.ndarray) or flags.dtype != np.uint8 \
            or flags.shape != flow.shape[:3]:
        raise ValueError(f"flags must be uint8 {flow.shape[:3]}, got "
                         f"{getattr(flags, 'dtype', type(flags).__name__)} "
                         f"{getattr(flags, 'shape', '')}")
    return flow, flags
