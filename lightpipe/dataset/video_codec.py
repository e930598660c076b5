"""Byte-reproducible H.264 (color) and FFV1 (lossless 16-bit) encoders; `video_reader` decodes."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.codec.context import Flags
from av.video.reformatter import (
    ColorPrimaries,
    ColorRange,
    Colorspace,
    ColorTrc,
    Interpolation,
    VideoReformatter,
)

__all__ = [
    "H264Options",
    "encode_gray16_ffv1",
    "encode_gray_h264",
    "encode_planes16_ffv1",
    "encode_rgb_ffv1",
    "encode_rgb_h264",
]

# Colour handling (encode and decode use the same conventions):
#   RGB -> YUV uses the BT.601 matrix (SMPTE 170M), limited ("tv", 16-235 / 16-240) range, which
#   is what swscale does by default for rgb24 -> yuv420p; it is done explicitly (not by the
#   encoder's implicit reformat, whose flags and threads are not ours) with bicubic chroma and
#   accurate-rounding, bit-exact, single-threaded swscale (`video_reader` decodes with the matching
#   conventions).
#   The stream is tagged matrix=smpte170m, range=tv (H.264 VUI and the MP4 `colr` box), and
#   primaries=bt709 / transfer=iec61966-2-1, i.e. the RGB values are taken as 8-bit sRGB. The tags
#   only describe the data: no gamut or transfer conversion is ever applied to the pixels.
_MATRIX = Colorspace.ITU601  # swscale name for the BT.601 / SMPTE 170M matrix.
_AVCOL_SPC_SMPTE170M = 6  # AVColorSpace value written into the stream for that matrix.
_ENCODE_SCALING = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.BITEXACT
# x264's macroblock-tree rate control is not reproducible: its AVX-512 code reads uninitialised
# memory (output changes with heap contents, e.g. under MALLOC_PERTURB_) and its SIMD uses the
# approximate `rcpps`, whose results may differ between CPU models. Without it, a given x264 build
# gives identical bytes for any heap state and for its SSSE3, AVX2 and AVX-512 code paths (C and
# SSE2-only paths differ). Cost: ~1.5-2x larger files at equal crf (crf 20-22 without mbtree is
# about the quality and size of crf 18 with it).
_X264_PARAMS = "mbtree=0"
# Seekable files (format 2): a closed GOP starting with an IDR frame every `keyframe_interval`
# frames exactly (no scene-cut keyframes, so the positions are fixed), and FFV1 keyframes (its
# context resets) at the same frames. A reader seeks to the keyframe at or before a clip.
DEFAULT_KEYFRAME_INTERVAL = 16
# Pixel formats of `encode_planes16_ffv1`, by channel count. The YUV layouts are used only as
# containers of independent 16-bit planes (no colour meaning, nothing ever converts them): FFV1
# codes YUV planes separately, while for gbrp16le / gbrap16le it codes G, B-G and R-G (a
# reversible colour transform across the planes), which on a flow field (dx, dy, flags) made
# files 1.7x (smooth rotation + waves) to 7.7x (pure rotation) larger. Both round-trip exactly.
_PLANES16_PIX_FMTS = {3: "yuv444p16le", 4: "yuva444p16le"}
# FFV1 version 3 with per-slice CRCs, range coder and large context model (smaller depth files).
_FFV1_OPTIONS = {"level": "3", "slicecrc": "1", "coder": "range_def", "context": "1"}


@dataclass(frozen=True)
class H264Options:
    """libx264 settings; `threads` is x264's thread count, pinned because output depends on it."""

    preset: str = "veryfast"
    crf: int = 18
    threads: int = 2
    keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL

    def __post_init__(self) -> None:
        if not isinstance(self.preset, str) or not self.preset:
            raise ValueError(f"H264Options.preset must be a non-empty string, got {self.preset!r}")
        if not _is_int(self.crf) or not 0 <= self.crf <= 51:
            raise ValueError(f"H264Options.crf must be an int in [0, 51], got {self.crf!r}")
        if not _is_int(self.threads) or self.threads < 1:
            raise ValueError(
                f"H264Options.threads must be an int >= 1 (0/auto is not reproducible), "
                f"got {self.threads!r}"
            )
        _check_keyframe_interval(self.keyframe_interval)

    @property
    def x264_params(self) -> str:
        return f"{_X264_PARAMS}:keyint={self.keyframe_interval}:scenecut=0:open-gop=0"


def encode_rgb_h264(
    path: str | os.PathLike, frames: np.ndarray, fps: int, options: H264Options
) -> None:
    """Write uint8 RGB frames (F, H, W, 3) as H.264 yuv420p in MP4; byte-identical per input."""
    _check_frames(frames, "frames", np.uint8, ndim=4, channels=3)
    _check_even_size(frames)
    _write_h264(path, frames, frames.shape[1:3], fps, options)


def encode_gray_h264(
    path: str | os.PathLike, gray: np.ndarray, fps: int, options: H264Options
) -> None:
    """Write uint8 gray frames (F, H, W) as R=G=B H.264 MP4 (Y = 16 + 219*g/255, U = V = 128).

    The yuv420p frames are built directly (`_gray_yuv420p`): the planes the RGB conversion
    would give, without expanding to RGB and converting (the same bytes, ~5x cheaper).
    """
    _check_frames(gray, "gray", np.uint8, ndim=3)
    _check_even_size(gray)
    fps = _check_fps(fps)
    if not isinstance(options, H264Options):
        raise ValueError(f"options must be H264Options, got {type(options).__name__}")
    with _open_output(path, "mp4", {"video_track_timescale": str(fps)}) as container:
        stream = _add_h264_stream(container, gray.shape[1:3], fps, options)
        _encode_all(container, stream, (_gray_yuv420p(plane) for plane in gray))


def encode_gray16_ffv1(path: str | os.PathLike, values: np.ndarray, fps: int,
                       keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL) -> None:
    """Write uint16 frames (F, H, W) losslessly as single-threaded FFV1 gray16le in Matroska."""
    _check_frames(values, "values", np.uint16, ndim=3)
    encode_gray16_ffv1_frames(path, values, values.shape[1:3], fps, keyframe_interval)


def encode_gray16_ffv1_frames(path: str | os.PathLike, frames: Iterable[np.ndarray],
                              size: tuple[int, int], fps: int,
                              keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL) -> None:
    """`encode_gray16_ffv1` of uint16 frames (H, W) = `size` drawn one at a time (each is copied
    into the encoder's frame before the next is drawn: the iterable may reuse one buffer)."""
    fps = _check_fps(fps)
    with _open_output(path, "matroska", {}) as container:
        stream = _add_ffv1_stream(container, tuple(size), fps, "gray16le", keyframe_interval)
        _encode_all(container, stream, (_gray16_frame(_checked_plane(v, size)) for v in frames))


def encode_rgb_ffv1(path: str | os.PathLike, frames: np.ndarray, fps: int,
                    keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL) -> None:
    """Write uint8 RGB frames (F, H, W, 3) losslessly as single-threaded FFV1 (bgr0)."""
    _check_frames(frames, "frames", np.uint8, ndim=4, channels=3)
    fps = _check_fps(fps)
    with _open_output(path, "matroska", {}) as container:
        stream = _add_ffv1_stream(container, frames.shape[1:3], fps, "bgr0", keyframe_interval)
        _encode_all(container, stream, (
            av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24").reformat(
                format="bgr0", threads=1) for f in frames))


def encode_planes16_ffv1(path: str | os.PathLike, planes: np.ndarray, fps: int,
                         keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL) -> None:
    """Write uint16 frames (F, H, W, C), C = 3 or 4, losslessly as single-threaded FFV1.

    Each channel is one independent 16-bit plane: channel c of `planes` is plane c of the
    stream (pix_fmt yuv444p16le for C = 3, yuva444p16le for C = 4, used as plain planes with
    no colour meaning) and channel c of what `video_reader.read_planes16` returns. Any uint16
    value round-trips exactly; odd sizes are fine (4:4:4, no subsampling). Same conventions as
    `encode_gray16_ffv1`: Matroska, time base 1/fps, pts = frame index, FFV1 level 3 with
    slice CRCs, a keyframe every `keyframe_interval` frames, bit-exact flags, one thread, so
    the bytes are identical run to run for the same input.
    """
    _check_frames(planes, "planes", np.uint16, ndim=4)
    channels = planes.shape[-1]
    if channels not in _PLANES16_PIX_FMTS:
        raise ValueError(f"planes must have 3 or 4 channels (last axis), got {planes.shape}")
    pix_fmt = _PLANES16_PIX_FMTS[channels]
    fps = _check_fps(fps)
    with _open_output(path, "matroska", {}) as container:
        stream = _add_ffv1_stream(container, planes.shape[1:3], fps, pix_fmt, keyframe_interval)
        _encode_all(container, stream, (
            av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=pix_fmt)
            for frame in planes))


# --- private helpers -------------------------------------------------------------------------


def _write_h264(
    path: str | os.PathLike,
    rgb_frames: Iterable[np.ndarray],
    size: tuple[int, int],
    fps: int,
    options: H264Options,
) -> None:
    """Encode validated RGB frames; mp4 track timescale = fps, so its time base is exactly 1/fps."""
    fps = _check_fps(fps)
    if not isinstance(options, H264Options):
        raise ValueError(f"options must be H264Options, got {type(options).__name__}")
    reformatter = VideoReformatter()  # One swscale context for the whole video.
    with _open_output(path, "mp4", {"video_track_timescale": str(fps)}) as container:
        stream = _add_h264_stream(container, size, fps, options)
        _encode_all(container, stream, (_rgb_to_yuv420p(reformatter, rgb) for rgb in rgb_frames))


def _add_ffv1_stream(container, size: tuple[int, int], fps: int, pix_fmt: str,
                     keyframe_interval: int):
    stream = _add_video_stream(container, "ffv1", size, fps, pix_fmt)
    stream.codec_context.thread_count = 1
    stream.codec_context.gop_size = _check_keyframe_interval(keyframe_interval)
    stream.codec_context.options = dict(_FFV1_OPTIONS)
    return stream


def _add_h264_stream(container, size: tuple[int, int], fps: int, options: H264Options):
    stream = _add_video_stream(container, "libx264", size, fps, "yuv420p")
    context = stream.codec_context
    context.thread_count = options.threads  # x264 "threads=N"; never 0 (auto = host-dependent).
    context.thread_type = "FRAME"  # PyAV's default is SLICE (x264 sliced threads); pin x264's.
    context.colorspace = _AVCOL_SPC_SMPTE170M
    context.color_range = ColorRange.MPEG
    context.color_primaries = ColorPrimaries.BT709
    context.color_trc = ColorTrc.IEC61966_2_1
    context.options = {
        "preset": options.preset,
        "crf": str(options.crf),
        "x264-params": options.x264_params,
    }
    return stream


def _open_output(path: str | os.PathLike, format: str, container_options: dict[str, str]):
    """Open `path` for writing with an explicit muxer and no random IDs, dates or version tags."""
    options = {"fflags": "+bitexact", **container_options}
    return av.open(os.fspath(path), "w", format=format, container_options=options)


def _add_video_stream(container, codec: str, size: tuple[int, int], fps: int, pix_fmt: str):
    stream = container.add_stream(codec, rate=fps)
    stream.height, stream.width = int(size[0]), int(size[1])
    stream.pix_fmt = pix_fmt
    stream.time_base = Fraction(1, fps)
    stream.codec_context.time_base = Fraction(1, fps)
    stream.codec_context.flags |= Flags.bitexact
    return stream


def _encode_all(container, stream, frames: Iterable[av.VideoFrame]) -> None:
    for index, frame in enumerate(frames):
        frame.pts = index  # In units of the codec time base, 1/fps.
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))  # Flush delayed (B-frame / lookahead) packets.


def _rgb_to_yuv420p(reformatter: VideoReformatter, rgb: np.ndarray) -> av.VideoFrame:
    """BT.601 limited-range conversion into a new frame; the zero-copy input view is not kept."""
    frame = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(rgb), format="rgb24")
    return reformatter.reformat(
        frame,
        format="yuv420p",
        src_colorspace=_MATRIX,
        dst_colorspace=_MATRIX,
        src_color_range=ColorRange.JPEG,
        dst_color_range=ColorRange.MPEG,
        interpolation=_ENCODE_SCALING,
        threads=1,
    )


def _checked_plane(values: np.ndarray, size) -> np.ndarray:
    if not isinstance(values, np.ndarray) or values.dtype != np.uint16 \
            or values.shape != tuple(size):
        raise ValueError(f"each frame must be a uint16 array of shape {tuple(size)}, got "
                         f"{getattr(values, 'dtype', type(values).__name__)} "
                         f"{getattr(values, 'shape', '')}")
    return values


def _gray16_frame(values: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(values), format="gray16le")


@functools.lru_cache(maxsize=1)
def _gray_luma_table() -> np.ndarray:
    """(256,) uint8: the Y that `_rgb_to_yuv420p` gives a pixel with R = G = B = g, read off
    swscale itself (luma is per pixel at equal size; chroma of gray is exactly 128)."""
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    frame = _rgb_to_yuv420p(VideoReformatter(), np.repeat(values[:, :, None], 3, axis=2))
    planes = frame.to_ndarray()  # (H * 3 / 2, W): Y, then U and V
    luma, chroma = planes[:16], planes[16:]
    if not (chroma == 128).all():
        raise RuntimeError("swscale's chroma of gray is not 128: the gray fast path is invalid")
    return luma.reshape(-1).copy()


def _gray_yuv420p(plane: np.ndarray) -> av.VideoFrame:
    """The yuv420p frame `_rgb_to_yuv420p` makes of a gray plane (R = G = B), built directly."""
    height, width = plane.shape
    planes = np.empty((height * 3 // 2, width), np.uint8)
    np.take(_gray_luma_table(), plane, out=planes[:height])
    planes[height:] = 128
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _check_frames(
    array: np.ndarray, name: str, dtype, ndim: int, channels: int | None = None
) -> None:
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != dtype:
        raise ValueError(f"{name} must have dtype {np.dtype(dtype)}, got {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got ndim={array.ndim} {array.shape}")
    if channels is not None and array.shape[-1] != channels:
        raise ValueError(f"{name} must have {channels} channels (last axis), got {array.shape}")
    if array.shape[0] < 1:
        raise ValueError(f"{name} must contain at least one frame, got F={array.shape[0]}")
    if array.shape[1] < 1 or array.shape[2] < 1:
        raise ValueError(f"{name} frames must be non-empty, got shape {array.shape}")


def _check_even_size(array: np.ndarray) -> None:
    height, width = array.shape[1], array.shape[2]
    if height % 2 or width % 2:
        raise ValueError(
            f"yuv420p needs even frame height and width, got height={height}, width={width}"
        )


def _check_fps(fps: int) -> int:
    if not _is_int(fps) or fps < 1:
        raise ValueError(f"fps must be an int >= 1, got {fps!r}")
    return int(fps)


def _check_keyframe_interval(interval: int) -> int:
    if not _is_int(interval) or interval < 1:
        raise ValueError(f"keyframe_interval must be an int >= 1, got {interval!r}")
    return int(interval)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
