"""`NNNN.json`, the per-video metadata: written last by the writer (the commit marker), read by
the training loader, preview, export and verify. Its schema is these records and nothing else."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lightpipe.dataset.depth_codes import LEVELS
from lightpipe.planning.specs import VideoSpec
from lightpipe.records import OMIT_IF_NONE, Record

CAMERA_CONVENTION = "OpenCV: x right, y down, z forward; extrinsics map world to camera"


class VideoStatus(str, enum.Enum):
    """Where one planned video stands on disk."""

    COMPLETE = "complete"  # JSON readable, every listed file present with its size (and sha256)
    MISSING = "missing"  # no JSON yet
    FAILED = "failed"  # no JSON, and a failure record in failures/
    CORRUPT = "corrupt"  # a JSON, but it or a file it lists does not check out


@dataclass(frozen=True)
class FileEntry(Record):
    """One file of a video: which modality it holds, its size and its sha256."""

    modality: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class CameraMeta(Record):
    """Pinhole intrinsics K (3x3) and world -> camera extrinsics per frame (F x 4x4)."""

    convention: str
    intrinsics: list[list[float]]
    extrinsics: list[list[list[float]]]
    width: int
    height: int


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


@dataclass(frozen=True)
class DepthMeta(Record):
    metric: MetricDepthMeta
    visualization: DepthVisMeta


@dataclass(frozen=True)
class SegmentationMeta(Record):
    """`NNNN_segmentation.mkv`: instance ids; `ids` names each (2 + k is spec.objects[k])."""

    file: str
    codec: str
    pix_fmt: str
    ids: dict[str, str]
    note: str

    @classmethod
    def of(cls, file: str, spec: VideoSpec) -> SegmentationMeta:
        ids = {"0": "no surface (sky or backdrop)", "1": "ground"}
        ids.update({str(k + 2): obj.asset_id for k, obj in enumerate(spec.objects)})
        return cls(file=file, codec="ffv1", pix_fmt="gray16le", ids=ids,
                   note="id 2 + k is spec.objects[k]")


@dataclass(frozen=True)
class NormalsMeta(Record):
    """`NNNN_normals.mkv`: camera-space unit normals as 8-bit RGB."""

    file: str
    codec: str
    pix_fmt: str
    kind: str
    decode: str

    @classmethod
    def of(cls, file: str) -> NormalsMeta:
        return cls(file=file, codec="ffv1", pix_fmt="bgr0 (decode as RGB)",
                   kind="camera-space unit normals (OpenCV axes), turned towards the camera",
                   decode="n = rgb / 127.5 - 1; rgb (0,0,0) = no surface")


@dataclass(frozen=True)
class EncodingMeta(Record):
    """The color and depth-visualization videos' size, timing and x264 settings."""

    width: int
    height: int
    num_frames: int
    fps: int
    codec: str
    pix_fmt: str
    preset: str
    crf: int
    x264_threads: int
    # A keyframe every N frames in every file (format 2); None in format 1 (one keyframe).
    keyframe_interval: int | None = field(default=None, metadata=OMIT_IF_NONE)


@dataclass(frozen=True)
class VideoMeta(Record):
    """Everything `NNNN.json` holds; `segmentation`/`normals` only when those files exist."""

    format_version: int
    index: int
    split: str
    spec: VideoSpec
    camera: CameraMeta
    depth: DepthMeta
    video: EncodingMeta
    files: dict[str, FileEntry]
    render_device: str
    versions: dict[str, str]
    segmentation: SegmentationMeta | None = field(default=None, metadata=OMIT_IF_NONE)
    normals: NormalsMeta | None = field(default=None, metadata=OMIT_IF_NONE)
    # sha256 of the dataset identity without `num_videos` (`identity.video_identity`), from
    # format 3: which configuration and seed the video belongs to. None in formats 1 and 2.
    identity_sha256: str | None = field(default=None, metadata=OMIT_IF_NONE)

    @property
    def num_frames(self) -> int:
        return self.video.num_frames

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of every frame."""
        return self.camera.height, self.camera.width

    @property
    def intrinsics(self) -> np.ndarray:
        return np.asarray(self.camera.intrinsics, dtype=np.float64)

    @property
    def extrinsics(self) -> np.ndarray:
        return np.asarray(self.camera.extrinsics, dtype=np.float64)

    def modality_files(self, directory: Path) -> dict[str, Path]:
        """Modality -> path of its file in `directory`, from the `files` table."""
        return {entry.modality: Path(directory) / name for name, entry in self.files.items()}


@dataclass(frozen=True)
class VideoCheck:
    """What `Layout.check` found for one video: its status, and its metadata when complete."""

    status: VideoStatus
    meta: VideoMeta | None = None
    problem: str = ""  # what is wrong, when not complete (for `verify` and failure records)

    @property
    def complete(self) -> bool:
        return self.status is VideoStatus.COMPLETE
