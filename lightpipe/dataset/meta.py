"""`NNNN.json`, the per-video metadata: written last by the writer (the commit marker), read by
the training loader, preview, export and verify. Its schema is these records and nothing else."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from lightpipe.dataset.outputs import REGISTRY
from lightpipe.dataset.outputs.depth import MetricDepthMeta
from lightpipe.dataset.outputs.images import DepthVisMeta
from lightpipe.dataset.outputs.labels import NormalsMeta, SegmentationMeta
from lightpipe.physics.records import PhysicsMeta
from lightpipe.planning.specs import VideoSpec
from lightpipe.records import OMIT_IF_NONE, Record, RecordError

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
class DepthMeta:
    """`meta.depth`: the records of the depth file (`metric`) and VACE's video
    (`visualization`), which share the JSON's `depth` key."""

    metric: MetricDepthMeta
    visualization: DepthVisMeta


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


class _LazyField:
    """A dataclass field's descriptor whose value may be a `_Deferred`, parsed on first read
    (its default: None)."""

    def __set_name__(self, owner, name: str) -> None:
        self.slot = f"_lazy_{name}"

    def __get__(self, obj, owner=None):
        if obj is None:
            return None
        value = obj.__dict__.get(self.slot)
        if isinstance(value, _Deferred):
            value = obj.__dict__[self.slot] = value.parse()
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.slot] = value


@dataclass(frozen=True)
class VideoMeta(Record):
    """Everything `NNNN.json` holds. Each output's record (`outputs`, by output name) sits at
    its registry `meta_path` in the JSON (`depth.metric`, `segmentation`, ...), present when
    the output was written."""

    format_version: int
    index: int
    split: str
    spec: VideoSpec
    camera: CameraMeta
    video: EncodingMeta
    files: dict[str, FileEntry]
    render_device: str
    versions: dict[str, str]
    # sha256 of the dataset identity without `num_videos` (`identity.video_identity`), from
    # format 3: which configuration and seed the video belongs to. None in formats 1 and 2.
    identity_sha256: str | None = field(default=None, metadata=OMIT_IF_NONE)
    # the simulation of a physics video (`settings.scene.dynamics: physics`): per-frame poses,
    # velocities and contact events; the renderer drew these poses. Parsed when first read.
    physics: PhysicsMeta | None = field(default=_LazyField(), metadata=OMIT_IF_NONE)
    outputs: dict[str, Record] = field(default_factory=lambda: Records())

    def __post_init__(self) -> None:
        if not isinstance(self.outputs, Records):
            object.__setattr__(self, "outputs", Records(self.outputs))

    def to_dict(self) -> dict:
        self.outputs.resolve_all()
        plain = super().to_dict()
        records = plain.pop("outputs")
        out = {}
        for key, value in plain.items():
            out[key] = value
            if key == "camera":  # the records after the camera, as format 3 wrote them
                for name, record in records.items():
                    node = out
                    *parents, leaf = REGISTRY[name].meta_path
                    for parent in parents:
                        node = node.setdefault(parent, {})
                    node[leaf] = record
        return out

    @classmethod
    def from_dict(cls, data: dict, path: str = "") -> VideoMeta:
        if not isinstance(data, dict):
            raise RecordError(path, f"expected a mapping for VideoMeta, got {data!r}")
        if "outputs" in data:
            raise RecordError(path, "unknown keys ['outputs'] for VideoMeta")
        data = dict(data)
        records = {}
        heads = {o.meta_path[0] for o in REGISTRY.values() if o.meta_path}
        found = {head: data.pop(head) for head in heads if head in data}
        for name, out in REGISTRY.items():
            if not out.meta_path or out.meta_path[0] not in found:
                if out.always and out.meta_path:
                    raise RecordError(path, f"missing keys [{out.meta_path[0]!r}] for VideoMeta")
                continue
            node, where = found[out.meta_path[0]], out.meta_path[0]
            for key in out.meta_path[1:]:
                if not isinstance(node, dict) or key not in node:
                    raise RecordError(path, f"missing keys [{where}.{key}] for VideoMeta")
                node, where = node[key], f"{where}.{key}"
            records[name] = _Deferred(out.record, node, where) if out.lazy_record else \
                out.record.from_dict(node, where)
        return replace(super().from_dict(data, path), outputs=Records(records))

    @classmethod
    def from_json(cls, text: str) -> VideoMeta:
        """`from_dict(json.loads(text))`, but the registry's lazy records (`objects`) and the
        simulation (`physics`) are cut out of `write_json`'s layout unparsed and decoded only
        when asked for (a resume reads every video's JSON)."""
        lazy = {o.meta_path[0]: o for o in REGISTRY.values() if o.lazy_record}
        raw, physics = {}, None
        if text.startswith("{\n") and text.endswith("}\n"):
            for key in lazy:
                text, raw[key] = _cut_top_level(text, key)
            text, physics = _cut_top_level(text, "physics")
        meta = cls.from_dict(json.loads(text))
        for key, value in raw.items():
            if value is not None:
                meta.outputs[lazy[key].name] = _Deferred(lazy[key].record, value, key)
        if physics is not None:
            object.__setattr__(meta, "physics", _Deferred(PhysicsMeta, physics, "physics"))
        return meta

    @property
    def depth(self) -> DepthMeta:
        return DepthMeta(self.outputs["depth"], self.outputs["depth_vis"])

    @property
    def segmentation(self) -> SegmentationMeta | None:
        return self.outputs.get("segmentation")

    @property
    def normals(self) -> NormalsMeta | None:
        return self.outputs.get("normals")

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


class _Deferred:
    """A record not parsed yet: its JSON text (or dict), parsed by `Records` when read."""

    def __init__(self, record: type[Record], raw, where: str) -> None:
        self.record, self.raw, self.where = record, raw, where

    def parse(self) -> Record:
        data = json.loads(self.raw) if isinstance(self.raw, str) else self.raw
        return self.record.from_dict(data, self.where)


class Records(dict):
    """`VideoMeta.outputs`: output name -> record; deferred ones are parsed on first read."""

    def __getitem__(self, name: str) -> Record:
        value = super().__getitem__(name)
        if isinstance(value, _Deferred):
            value = value.parse()
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default=None):
        return self[name] if name in self else default

    def resolve_all(self) -> None:
        for name in list(self):
            self[name]  # noqa: B018  (parses it)

    def items(self):
        self.resolve_all()
        return super().items()

    def values(self):
        self.resolve_all()
        return super().values()

    def __eq__(self, other) -> bool:
        self.resolve_all()
        if isinstance(other, Records):
            other.resolve_all()
        return super().__eq__(other)

    __hash__ = None


def _cut_top_level(text: str, key: str) -> tuple[str, str | None]:
    """(text without the top-level `key`, its value's text) of `write_json`'s layout (indent 2:
    a raw newline, two spaces and a quote start a top-level key, as strings hold no raw
    newlines); (text, None) when the key is absent."""
    marker = f'\n  "{key}": '
    at = text.find(marker)
    if at < 0:
        return text, None
    start = at + len(marker)
    after = text.find('\n  "', start)
    if after < 0:  # the last key: its value runs to the closing "\n}\n"
        return text[:at - 1] + text[-3:], text[start:-3]
    return text[:at] + text[after:], text[start:after - 1]


@dataclass(frozen=True)
class VideoCheck:
    """What `Layout.check` found for one video: its status, and its metadata when complete."""

    status: VideoStatus
    meta: VideoMeta | None = None
    problem: str = ""  # what is wrong, when not complete (for `verify` and failure records)

    @property
    def complete(self) -> bool:
        return self.status is VideoStatus.COMPLETE
