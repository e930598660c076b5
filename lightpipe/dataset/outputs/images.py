"""The colour video and VACE's depth visualization: 8-bit H.264 for people and video models."""

from __future__ import annotations

from dataclasses import dataclass

from lightpipe.dataset.outputs.base import Encoded, Output, OutputFile, channels_first
from lightpipe.records import Record


@dataclass(frozen=True)
class DepthVisMeta(Record):
    """`NNNN_depth.mp4`: VACE's inverse-depth video; ranges per video, or lists per frame."""

    file: str
    kind: str
    normalization: str
    inverse_depth_min: float | list[float]
    inverse_depth_max: float | list[float]

    @classmethod
    def of(cls, file: str, normalization: str, ranges: dict) -> DepthVisMeta:
        return cls(file=file, kind="inverse depth, near = bright, 3-channel gray; no surface = 0",
                   normalization=normalization, **ranges)


class Color(Output):
    name = "color"
    summary = "the rendered video: 8-bit sRGB, H.264 (x264 settings in `video`)"
    files = (OutputFile("color", "_color.mp4", "mp4", "h264", "yuv420p"),)
    always = True
    bytes_per_pixel = 3
    reader_keys = ("color",)
    unit_rgb = True
    diffsynth_columns = {"color": "video"}  # the target video

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.video_codec import encode_rgb_h264

        return Encoded({"color": lambda path: encode_rgb_h264(path, video.color, context.fps,
                                                               context.h264)})

    def read(self, files, meta, frames=None, keys=None):
        from lightpipe.dataset.video_reader import read_rgb

        return {"color": read_rgb(files["color"], frames)}

    def tensors(self, arrays, geometry, slots=None):
        return {"color": _unit_rgb(arrays["color"], geometry)}

    def panels(self, arrays, context):
        return {"color": arrays["color"]}


class DepthVis(Output):
    name = "depth_vis"
    summary = ("VACE's depth control video: inverse depth as 8-bit gray, near = bright, "
               "H.264; normalized per video or per frame")
    files = (OutputFile("depth_vis", "_depth.mp4", "mp4", "h264", "yuv420p"),)
    always = True
    meta_path = ("depth", "visualization")
    record = DepthVisMeta
    reader_keys = ("depth_vis",)
    unit_rgb = True
    diffsynth_columns = {"depth_vis": "vace_video"}  # VACE's control video

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.depth_codes import inverse_depth_gray
        from lightpipe.dataset.native_depth_codes import fast_depth_codes
        from lightpipe.dataset.video_codec import encode_gray_h264

        gray, ranges = inverse_depth_gray(video.depth,
                                          per_frame=context.depth_normalization == "per_frame",
                                          fast=fast_depth_codes())
        return Encoded(
            {"depth_vis": lambda path: encode_gray_h264(path, gray, context.fps, context.h264)},
            DepthVisMeta.of(context.file_name("depth_vis"), context.depth_normalization, ranges))

    def read(self, files, meta, frames=None, keys=None):
        from lightpipe.dataset.video_reader import read_rgb

        return {"depth_vis": read_rgb(files["depth_vis"], frames)}

    def tensors(self, arrays, geometry, slots=None):
        return {"depth_vis": _unit_rgb(arrays["depth_vis"], geometry)}


def _unit_rgb(rgb, geometry):
    """(T,H,W,3) uint8 -> (T,3,H',W') float in [0, 1], resized bilinearly (antialiased).

    The floats are written into a NumPy buffer, in the arrays' own (T,H,W,3) order (the
    tensor is its channels-first view, as `.float()` of that view gave): NumPy asks the kernel
    for huge pages for large buffers, and a clip of floats is ~77 MB at 832x480x16, so fresh
    4 KiB pages cost more than the conversion itself. Same values, same strides."""
    import numpy as np
    import torch

    frames = torch.from_numpy(np.empty(rgb.shape, np.float32))
    frames.copy_(torch.from_numpy(rgb)).div_(255.0)
    return geometry.apply(torch.from_numpy(channels_first(frames.numpy())), "bilinear")
