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
from lightpipe.dataset.video_reader import (
    VideoInfo,
    VideoReadError,
    probe,
    read_gray,
    read_gray16,
    read_rgb,
)

__all__ = ["DATASET_FILE", "FORMAT_VERSION", "RENDERER_VERSION", "DatasetError", "DatasetIndex",
           "DatasetOnDisk", "Layout", "Match", "VideoCheck", "VideoInfo", "VideoMeta",
           "VideoReadError", "VideoRecord", "VideoStatus", "dataset_description",
           "dataset_identity", "dequantize_metric", "inspect_dataset", "inverse_depth_gray",
           "probe", "quantize_metric", "read_gray", "read_gray16", "read_rgb"]
