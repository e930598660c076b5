"""Metric depth: planar z in metres, quantized to uint16 over the video's range (lossless FFV1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lightpipe.dataset.depth_codes import LEVELS, inverse_depth_gray
from lightpipe.dataset.outputs.base import Encoded, Output, OutputFile, channels_first
from lightpipe.records import Record


@dataclass(frozen=True)
class MetricDepthMeta(Record):
    """`NNNN_depth.mkv`: planar z-depth quantized to uint16 over [near, far]."""

    file: str
    codec: str
    pix_fmt: str
    kind: str
    near: float
    far: float
    decode: str

    @classmethod
    def of(cls, file: str, near: float, far: float) -> MetricDepthMeta:
        return cls(file=file, codec="ffv1", pix_fmt="gray16le", kind="planar z-depth, metres",
                   near=near, far=far,
                   decode=f"z = near + (code - 1) * (far - near) / {LEVELS}; code 0 = no surface")


class Depth(Output):
    name = "depth"
    summary = "planar z-depth in metres, uint16 codes over the video's [near, far], FFV1"
    files = (OutputFile("depth", "_depth.mkv", "matroska", "ffv1", "gray16le"),)
    always = True
    bytes_per_pixel = 4
    meta_path = ("depth", "metric")
    record = MetricDepthMeta
    reader_keys = ("depth",)
    panel_titles = {"depth": "depth (inverse, near bright)"}

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.depth_codes import metric_range, quantized_metric_frames
        from lightpipe.dataset.native_depth_codes import fast_depth_codes
        from lightpipe.dataset.video_codec import encode_gray16_ffv1_frames

        fast = fast_depth_codes()
        ranges = metric_range(video.depth, fast)
        # codes quantized frame by frame as the encoder takes them: no (F, H, W) uint16 array
        return Encoded(
            {"depth": lambda path: encode_gray16_ffv1_frames(
                path, quantized_metric_frames(video.depth, ranges, fast), video.depth.shape[1:3],
                context.fps, context.keyframe_interval)},
            MetricDepthMeta.of(context.file_name("depth"), ranges["near"], ranges["far"]))

    def read(self, files, meta, frames=None, keys=None):
        from lightpipe.dataset.depth_codes import dequantize_metric
        from lightpipe.dataset.video_reader import read_gray16

        record = meta.outputs["depth"]
        return {"depth": dequantize_metric(read_gray16(files["depth"], frames), record.near,
                                           record.far)}

    def tensors(self, arrays, geometry, slots=None):
        import torch

        # Nearest: no depth is invented between a near and a far surface; 0 stays 0.
        return {"depth": geometry.apply(torch.from_numpy(channels_first(arrays["depth"])),
                                        "nearest")}

    def panels(self, arrays, context):
        return {"depth": depth_panels(arrays["depth"],
                                      context.depth_normalization == "per_frame")}


def depth_panels(depth: np.ndarray, per_frame: bool) -> np.ndarray:
    """Metric depth (F,H,W), 0 = no surface -> inverse-depth gray as RGB (near bright)."""
    gray, _ = inverse_depth_gray(depth, per_frame=per_frame)
    return np.repeat(gray[..., None], 3, axis=3)
