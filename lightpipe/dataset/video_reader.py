"""The one decoder of dataset videos (PyAV): chosen or all frames as arrays, and a stream probe.

Used by the training loader, preview and the tests alike, so every reader gets the same RGB
values: chroma is upsampled with swscale's full horizontal interpolation, accurate rounding and
bit-exact flags (mean abs RGB round-trip error ~0.3 vs ~1.5 with swscale's defaults); the
encoder's colour conventions are in `video_codec`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from lightpipe.dataset.gray_rgb import GrayTable, is_gray
from lightpipe.errors import LightpipeError

RGB_SCALING = (Interpolation.BILINEAR | Interpolation.FULL_CHR_H_INT | Interpolation.ACCURATE_RND
               | Interpolation.BITEXACT)
_GRAY16 = ("gray16le", "gray16be")
_PLANES16 = ("yuv444p16le", "yuva444p16le")  # what `video_codec.encode_planes16_ffv1` writes


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
    return _read(path, frames, _RGB())


def read_gray16(path: str | os.PathLike, frames: Sequence[int] | None = None) -> np.ndarray:
    """Frames of a lossless 16-bit gray video as uint16, (T, H, W); other formats raise."""
    return _read(path, frames, _gray16, pix_fmts=_GRAY16)


def read_gray(path: str | os.PathLike, frames: Sequence[int] | None = None) -> np.ndarray:
    """Frames of a gray video (8 or 16 bit) as integer codes, (T, H, W)."""
    return _read(path, frames, _gray_codes, pix_fmts=("gray", *_GRAY16))


def read_planes16(path: str | os.PathLike, frames: Sequence[int] | None = None) -> np.ndarray:
    """Frames of a lossless 16-bit multi-plane video (`video_codec.encode_planes16_ffv1`) as
    uint16, (T, H, W, C) with C = 3 or 4: channel c is plane c of the stream, i.e. channel c of
    the encoder's input. Frame selection as in `read_rgb` (any order, repeats allowed, None =
    all; seeks to the keyframe at or before the first); other pixel formats raise."""
    return _read(path, frames, _planes16, pix_fmts=_PLANES16)


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
    """Seek to the keyframe at or before the first wanted frame, decode from there and keep
    only the wanted frames, stopping after the last one.

    Format-2 files have a keyframe every `keyframe_interval` frames, so a clip late in a video
    decodes at most that many frames it does not keep (format 1 has one keyframe: the seek
    lands on frame 0, i.e. decode-and-drop). Positions come from the frames' timestamps. Only
    the kept frames are converted (the costly step). One decoder thread: DataLoader workers
    parallelize files.
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
            clock = _FrameClock.of(stream)
            first = 0 if wanted is None or clock is None else wanted[0]
            if first > 0:
                container.seek(clock.pts(first), stream=stream, backward=True, any_frame=False)
            decoded = _decode(container, stream, wanted, clock, kept, convert, seeked=first > 0)
            if decoded is None:  # the seek went past the first wanted frame: from the start
                container.seek(0, stream=stream, backward=True, any_frame=False)
                decoded = _decode(container, stream, wanted, None, kept, convert, seeked=False)
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


def _decode(container, stream, wanted: list[int] | None, clock: _FrameClock | None,
            kept: dict[int, np.ndarray], convert: Callable, seeked: bool) -> int | None:
    """Decode into `kept`; returns the frame count seen (last position + 1), or None when a
    seek landed after the first wanted frame. Without `clock`, positions are counted from 0."""
    targets = None if wanted is None else set(wanted)
    decoded, position = 0, -1
    for frame in container.decode(stream):
        position = position + 1 if clock is None or frame.pts is None else clock.position(frame.pts)
        if seeked and decoded == 0 and position > wanted[0]:
            return None
        decoded = position + 1
        if targets is None or position in targets:
            kept[position] = convert(frame)
        if wanted is not None and position >= wanted[-1]:
            break
    return decoded


@dataclass(frozen=True)
class _FrameClock:
    """Frame position <-> timestamp of a constant-rate stream (as Lightpipe writes them)."""

    start: int
    time_base: Fraction
    fps: Fraction

    @classmethod
    def of(cls, stream) -> _FrameClock | None:
        rate = stream.average_rate or stream.guessed_rate
        if not rate or not stream.time_base:
            return None
        return cls(stream.start_time or 0, Fraction(stream.time_base), Fraction(rate))

    def pts(self, position: int) -> int:
        """The timestamp a muxer stores for frame `position` (rescaled, rounded half up)."""
        return self.start + math.floor(position / (self.fps * self.time_base) + Fraction(1, 2))

    def position(self, pts: int) -> int:
        return round((pts - self.start) * self.time_base * self.fps)


class _RGB:
    """Frames as RGB with the exact conversion; one swscale context per file, reused for every
    frame (`VideoFrame.to_ndarray` builds a new one each call: ~10% slower, same bits). Gray
    frames (chroma all 128, as depth_vis) go through the conversion's own table of the 256 Y
    codes (`gray_rgb`): the same bytes, without swscale."""

    def __init__(self) -> None:
        self.reformatter = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if is_gray(frame):
            table = _gray_table(frame)
            if table is not None:
                return table.convert(frame)
        return self.swscale(frame)

    def swscale(self, frame: av.VideoFrame) -> np.ndarray:
        return self.reformatter.reformat(frame, format="rgb24", interpolation=RGB_SCALING,
                                         threads=1).to_ndarray()


_GRAY_TABLES: dict[tuple, GrayTable | None] = {}  # per (size, colour space, range); None: swscale


def _gray_table(frame: av.VideoFrame) -> GrayTable | None:
    key = (frame.width, frame.height, frame.colorspace, frame.color_range)
    if key not in _GRAY_TABLES:
        _GRAY_TABLES[key] = GrayTable.build(frame, _RGB().swscale)
    return _GRAY_TABLES[key]


def _gray16(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="gray16le")


def _planes16(frame: av.VideoFrame) -> np.ndarray:
    # PyAV stacks the planes in order, plane i -> channel i, (H, W, C); no conversion.
    return frame.to_ndarray()


def _gray_codes(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray()
