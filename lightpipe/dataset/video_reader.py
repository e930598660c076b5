"""The one decoder of dataset videos (PyAV): chosen or all frames as arrays, and a stream probe.

Used by the training loader, preview and the tests alike, so every reader gets the same RGB
values: chroma is upsampled with swscale's full horizontal interpolation, accurate rounding and
bit-exact flags (mean abs RGB round-trip error ~0.3 vs ~1.5 with swscale's defaults); the
encoder's colour conventions are in `video_codec`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import Interpolation

from lightpipe.errors import LightpipeError

RGB_SCALING = (Interpolation.BILINEAR | Interpolation.FULL_CHR_H_INT | Interpolation.ACCURATE_RND
               | Interpolation.BITEXACT)
_GRAY16 = ("gray16le", "gray16be")


class VideoReadError(LightpipeError):
    """A dataset video is missing, unreadable, of another pixel format, or too short."""


@dataclass(frozen=True)
class VideoInfo:
    """Basic facts about the first video stream of a file."""

    num_frames: int
    width: int
    height: int
    fps: Fraction
    codec: str
    pix_fmt: str


def read_rgb(path: str | os.PathLike, frames: Sequence[int] | None = None) -> np.ndarray:
    """Frames `frames` (any order, repeats allowed; None = all) as uint8 RGB, (T, H, W, 3)."""
    return _read(path, frames, _rgb)


def read_gray16(path: str | os.PathLike, frames: Sequence[int] | None = None) -> np.ndarray:
    """Frames of a lossless 16-bit gray video as uint16, (T, H, W); other formats raise."""
    return _read(path, frames, _gray16, pix_fmts=_GRAY16)


def read_gray(path: str | os.PathLike, frames: Sequence[int] | None = None) -> np.ndarray:
    """Frames of a gray video (8 or 16 bit) as integer codes, (T, H, W)."""
    return _read(path, frames, _gray_codes, pix_fmts=("gray", *_GRAY16))


def probe(path: str | os.PathLike) -> VideoInfo:
    """Describe the first video stream; `num_frames` counts demuxed packets (no decoding)."""
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        num_frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
        context = stream.codec_context
        return VideoInfo(
            num_frames=num_frames,
            width=context.width,
            height=context.height,
            fps=Fraction(stream.average_rate or stream.guessed_rate or 0),
            codec=context.name,
            pix_fmt=context.pix_fmt,
        )


# --- private helpers -------------------------------------------------------------------------


def _read(path, frames: Sequence[int] | None, convert: Callable,
          pix_fmts: tuple[str, ...] = ()) -> np.ndarray:
    """Decode from the start and keep only the wanted frames, stopping after the last one.

    Decode-and-drop rather than seeking: the H.264 files have a single keyframe per video (x264's
    keyint exceeds the length), so a seek would decode from frame 0 anyway. Only the kept frames
    are converted (the costly step). One decoder thread: DataLoader workers parallelize files.
    """
    wanted = None if frames is None else sorted(set(int(f) for f in frames))
    if wanted is not None and (not wanted or wanted[0] < 0):
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
            targets, decoded = (None if wanted is None else set(wanted)), 0
            for position, frame in enumerate(container.decode(stream)):
                decoded = position + 1
                if targets is None or position in targets:
                    kept[position] = convert(frame)
                if wanted is not None and position >= wanted[-1]:
                    break
    except FileNotFoundError:
        raise VideoReadError(f"{path}: file not found; the dataset changed after it was "
                             "indexed (rerun `lightpipe predict` to restore it)") from None
    except (av.FFmpegError, IndexError) as exc:
        raise VideoReadError(f"{path}: cannot decode: {exc}") from None
    if wanted is None:
        if not kept:
            raise VideoReadError(f"{path}: holds no frames")
        return np.stack([kept[i] for i in range(len(kept))])
    if len(kept) < len(wanted):
        raise VideoReadError(f"{path}: has only {decoded} frames; frame {wanted[-1]} was requested")
    return np.stack([kept[int(f)] for f in frames])


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24", interpolation=RGB_SCALING, threads=1)


def _gray16(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="gray16le")


def _gray_codes(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray()
