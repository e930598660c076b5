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
    the kept frames are converted (the costly step), each straight into its slot of the result
    (`_Frames`: no stacking copy). One decoder thread: DataLoader workers parallelize files.
    """
    wanted = None if frames is None else sorted(set(int(f) for f in frames))
    if wanted is not None and (not wanted or wanted[0] < 0):
        raise ValueError(f"frame indices must be non-empty and >= 0, got {list(frames)}")
    path = os.fspath(path)
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            if pix_fmts and stream.codec_context.pix_fmt not in pix_fmts:
                raise VideoReadError(f"{path}: pixel format {stream.codec_context.pix_fmt!r}; "
                                     f"expected one of {', '.join(pix_fmts)}")
            clock = _FrameClock.of(stream)
            kept = _Frames(frames, _frame_count(container, stream), convert)
            first = 0 if wanted is None or clock is None else wanted[0]
            if first > 0:
                container.seek(clock.pts(first), stream=stream, backward=True, any_frame=False)
            decoded = _decode(container, stream, wanted, clock, kept, seeked=first > 0)
            if decoded is None:  # the seek went past the first wanted frame: from the start
                container.seek(0, stream=stream, backward=True, any_frame=False)
                decoded = _decode(container, stream, wanted, None, kept, seeked=False)
    except FileNotFoundError:
        raise VideoReadError(f"{path}: file not found; the dataset changed after it was "
                             "indexed (rerun `lightpipe predict` to restore it)") from None
    except (av.FFmpegError, IndexError) as exc:
        raise VideoReadError(f"{path}: cannot decode: {exc}") from None
    if wanted is None and not kept.count:
        raise VideoReadError(f"{path}: holds no frames")
    if wanted is not None and kept.count < len(wanted):
        raise VideoReadError(f"{path}: has only {decoded} frames; frame {wanted[-1]} was requested")
    return kept.result(path)


def _decode(container, stream, wanted: list[int] | None, clock: _FrameClock | None,
            kept: _Frames, seeked: bool) -> int | None:
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
            kept.put(position, frame)
        if wanted is not None and position >= wanted[-1]:
            break
    return decoded


def _frame_count(container, stream) -> int:
    """The stream's frame count as its container states it (MP4), else from its duration and
    rate (Matroska); 0 where neither is known. Only sizes the result: reading does not rely
    on it."""
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if container.duration and rate:
        return max(0, round(container.duration / av.time_base * float(rate)))
    return 0


class _Frames:
    """The result of a read, filled frame by frame: `frames` (the order asked for, repeats
    allowed) or, None, every frame by position (`expected` of them, grown if there are more).
    Each decoded frame is converted once, into its first slot, and copied to its repeats."""

    def __init__(self, frames: Sequence[int] | None, expected: int, convert: Callable) -> None:
        self.convert, self.array, self.count, self.puts = convert, None, 0, 0
        self.size = expected if frames is None else len(frames)
        self.slots: dict[int, list[int]] | None = None
        if frames is not None:
            self.slots = {}
            for slot, position in enumerate(frames):
                self.slots.setdefault(int(position), []).append(slot)

    def put(self, position: int, frame: av.VideoFrame) -> None:
        slots = [position] if self.slots is None else self.slots[position]
        if self.array is None:
            shape, dtype = self.convert.layout(frame)
            self.array = np.empty((max(self.size, slots[-1] + 1), *shape), dtype)
        elif slots[-1] >= len(self.array):  # more frames than the container said
            grown = np.empty((max(2 * len(self.array), slots[-1] + 1), *self.array.shape[1:]),
                             self.array.dtype)
            grown[:len(self.array)] = self.array
            self.array = grown
        self.convert(frame, self.array[slots[0]])
        for slot in slots[1:]:
            self.array[slot] = self.array[slots[0]]
        self.puts += 1
        self.count = max(self.count, position + 1) if self.slots is None else self.puts

    def result(self, path: str) -> np.ndarray:
        if self.slots is not None:
            return self.array
        if self.puts != self.count:
            raise VideoReadError(f"{path}: {self.count - self.puts} frame position(s) missing "
                                 "(not a constant-rate video)")
        return self.array[:self.count]


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

    @staticmethod
    def layout(frame: av.VideoFrame) -> tuple[tuple[int, ...], type]:
        return (frame.height, frame.width, 3), np.uint8

    def __call__(self, frame: av.VideoFrame, out: np.ndarray) -> None:
        if is_gray(frame):
            table = _gray_table(frame)
            if table is not None:
                table.convert(frame, out)
                return
        out[...] = _plane(self.swscale_frame(frame), 0, np.uint8, 3)

    def swscale_frame(self, frame: av.VideoFrame) -> av.VideoFrame:
        return self.reformatter.reformat(frame, format="rgb24", interpolation=RGB_SCALING,
                                         threads=1)

    def swscale(self, frame: av.VideoFrame) -> np.ndarray:
        return self.swscale_frame(frame).to_ndarray()


_GRAY_TABLES: dict[tuple, GrayTable | None] = {}  # per (size, colour space, range); None: swscale


def _gray_table(frame: av.VideoFrame) -> GrayTable | None:
    key = (frame.width, frame.height, frame.colorspace, frame.color_range)
    if key not in _GRAY_TABLES:
        _GRAY_TABLES[key] = GrayTable.build(frame, _RGB().swscale)
    return _GRAY_TABLES[key]


def _plane(frame: av.VideoFrame, index: int, dtype, channels: int = 1) -> np.ndarray:
    """Plane `index` of `frame` as a view of its buffer, (H, W) or (H, W, channels) of `dtype`
    in native byte order, its line padding dropped."""
    plane = frame.planes[index]
    item = np.dtype(dtype).itemsize * channels
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    rows = rows[:, : plane.width * item].view(dtype)
    return rows.reshape(plane.height, plane.width, channels) if channels > 1 else rows


class _Planes:
    """Frames as their planes' integer codes, without conversion: (H, W) of plane 0 (gray), or
    with `planes`, (H, W, C) with channel c = plane c; uint16 for 16-bit formats (either byte
    order), else uint8."""

    def __init__(self, planes: bool) -> None:
        self.planes = planes

    def layout(self, frame: av.VideoFrame) -> tuple[tuple[int, ...], type]:
        shape = (frame.height, frame.width)
        dtype = np.uint16 if frame.format.name.endswith(("16le", "16be")) else np.uint8
        return ((*shape, len(frame.planes)) if self.planes else shape), dtype

    def __call__(self, frame: av.VideoFrame, out: np.ndarray) -> None:
        name = frame.format.name
        dtype = np.dtype(">u2" if name.endswith("16be") else "<u2") if out.itemsize == 2 else \
            np.dtype(np.uint8)
        if not self.planes:
            out[...] = _plane(frame, 0, dtype)  # (a byte swap where the frame's order differs)
            return
        for index in range(out.shape[-1]):
            out[..., index] = _plane(frame, index, dtype)


_gray16 = _gray_codes = _Planes(planes=False)
_planes16 = _Planes(planes=True)
