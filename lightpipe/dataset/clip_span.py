"""How many frames a training clip spans, checked against a dataset's videos (light: the fit
front door uses it before Lightning is imported)."""

from __future__ import annotations

from lightpipe.errors import ConfigError

DEFAULT_CLIP_LENGTH, DEFAULT_FRAME_STRIDE = 16, 1  # GeneratedVideoDataModule's defaults


def clip_span(clip_length: int, frame_stride: int) -> int:
    """Frames from a clip's first to its last frame, inclusive."""
    return (clip_length - 1) * frame_stride + 1


def check_clip_span(root: str, clip_length: int, frame_stride: int, num_frames: int) -> None:
    """Refuse a clip longer than the videos of `root`, naming the longest that fits."""
    span = clip_span(clip_length, frame_stride)
    if span > num_frames:
        raise ConfigError(
            "clip_length", clip_length,
            f"at most {(num_frames - 1) // frame_stride + 1} with frame_stride {frame_stride}: "
            f"the videos of {root!r} have {num_frames} frames and a clip spans "
            f"(clip_length - 1) * frame_stride + 1 = {span}",
            hint="lower --data.clip_length or --data.frame_stride, or generate longer videos "
                 "(--settings.video.num_frames).")
