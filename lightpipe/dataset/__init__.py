"""The on-disk contract shared by the writer and every reader: layout, per-video metadata,
identity, depth codes, the encoders and the one decoder."""

from lightpipe.dataset.depth_codes import dequantize_metric, inverse_depth_gray, quantize_metric
from lightpipe.dataset.identity import RENDERER_VERSION, dataset_description, dataset_identity
from lightpipe.dataset.index import (
    DatasetError,
    DatasetIndex,
    DatasetOnDisk,
    Match,
    VideoRecord,
    inspect_dataset,
)
from lightpipe.dataset.layout import DATASET_FILE, FORMAT_VERSION, Layout
from lightpipe.dataset.meta import VideoCheck, VideoMeta, VideoStatus

# The decoder's names load PyAV (FFmpeg) on first use: validating a config reads the layout
# and identity but never a video, and must stay fast.
_DECODER = ("VideoInfo", "VideoReadError", "probe", "read_gray", "read_gray16", "read_rgb")


def __getattr__(name: str):
    if name in _DECODER:
        from lightpipe.dataset import video_reader

        return getattr(video_reader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["DATASET_FILE", "FORMAT_VERSION", "RENDERER_VERSION", "DatasetError", "DatasetIndex",
           "DatasetOnDisk", "Layout", "Match", "VideoCheck", "VideoInfo", "VideoMeta",
           "VideoReadError", "VideoRecord", "VideoStatus", "dataset_description",
           "dataset_identity", "dequantize_metric", "inspect_dataset", "inverse_depth_gray",
           "probe", "quantize_metric", "read_gray", "read_gray16", "read_rgb"]
