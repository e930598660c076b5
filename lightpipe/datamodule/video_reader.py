"""Decode chosen frames of a dataset video with PyAV (the training side's reader; no renderer)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import av
import numpy as np
from av.video.reformatter import Interpolation

from lightpipe.errors import LightpipeError

# The generator's own decoder converts with these swscale flags (full-resolution chroma
# interpolation, accurate rounding, bit-exact); using the same ones gives identical RGB values.
RGB_SCALING = (Interpolation.BILINEAR | Interpolation.FULL_CHR_H_INT | Interpolation.ACCURATE_RND
                | Interpolation.BITEXACT)
_GRAY16 = ("gray16le", "gray16be")


class VideoReadError(LightpipeError):
    """A dataset video is missing, unreadable or shorter than its metadata says."""


def read_rgb(path: str | os.PathLike, frames: Sequence[int]) -> np.ndarray:
    """Frames `frames` (any order, repeats allowed) as uint8 RGB, shape (T, H, W, 3)."""
    return _read(path, frames, _rgb)


def read_gray16(path: str | os.PathLike, frames: Sequence[int]) -> np.ndarray:
    """Frames of a lossless 16-bit gray video as uint16, shape (T, H, W); other formats raise."""
    return _read(path, frames, _gray16, pix_fmts=_GRAY16)


def read_gray(path: str | os.PathLike, frames: Sequence[int]) -> np.ndarray:
    """Frames of a gray video (8 or 16 bit) as integer codes, shape (T, H, W)."""
    return _read(path, frames, _gray_codes, pix_fmts=("gray", *_GRAY16))


# --- private helpers -------------------------------------------------------------------------


def _read(path, frames: Sequence[int], convert: Callable,
          pix_fmts: tuple[str, ...] = ()) -> np.ndarray:
    """Decode from the start and keep only the wanted frames, stopping after the last one.

    Decode-and-drop rather than seeking: the H.264 files have a single keyframe per video (x264's
    keyint exceeds the length), so a seek would decode from frame 0 anyway. Only the kept frames
    are converted (the costly step). One decoder thread: DataLoader workers parallelize files.
    """
    wanted = sorted(set(int(f) for f in frames))
    if not wanted or wanted[0] < 0:
        raise ValueError(f"frame indices must be non-empty and >= 0, got {list(frames)}")
    path = os.fspath(path)
    kept: dict[int, np.ndarray] = {}
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            if pix_fmts and stream.codec_context.pix_fmt not in pix_fmts:
                raise VideoReadError(f"{path}: pixel format {stream.codec_context.pix_fmt!r}; "
                                     f"expected one of {', '.join(pix_fmts)}")
            targets, decoded = set(wanted), 0
            for position, frame in enumerate(container.decode(stream)):
                decoded = position + 1
                if position in targets:
                    kept[position] = convert(frame)
                if position >= wanted[-1]:
                    break
    except FileNotFoundError:
        raise VideoReadError(f"{path}: file not found; the dataset changed after it was "
                             "indexed (rerun `lightpipe predict` to restore it)") from None
    except (av.FFmpegError, IndexError) as exc:
        raise VideoReadError(f"{path}: cannot decode: {exc}") from None
    if len(kept) < len(wanted):
        raise VideoReadError(f"{path}: has only {decoded} frames; frame {wanted[-1]} was requested")
    return np.stack([kept[int(f)] for f in frames])


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24", interpolation=RGB_SCALING, threads=1)


def _gray16(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="gray16le")


def _gray_codes(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray()
