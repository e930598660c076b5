"""The on-disk layout of a dataset: file names by global index, and the one completeness check."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lightpipe.atomic_io import sha256_file
from lightpipe.config.settings import Settings, split_of
from lightpipe.dataset.meta import VideoCheck, VideoMeta, VideoStatus

# The on-disk format: these names, the per-video JSON schema (`meta.py`), the depth codes.
FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"
FAILURES_DIR = "failures"
# Modality -> file suffix after the zero-padded index: every video has these ...
VIDEO_FILES = {"color": "_color.mp4", "depth_vis": "_depth.mp4", "depth": "_depth.mkv"}
# ... and these when `settings.outputs` asks for them.
EXTRA_FILES = {"segmentation": "_segmentation.mkv", "normals": "_normals.mkv"}


@dataclass(frozen=True)
class Layout:
    """Paths of one dataset: `root/<split>/NNNN_*` by global index."""

    root: Path
    num_videos: int
    num_train: int

    @classmethod
    def for_settings(cls, settings: Settings) -> Layout:
        return cls(Path(settings.output_dir), settings.num_videos, settings.num_train)

    @property
    def digits(self) -> int:
        return max(4, len(str(self.num_videos - 1)))

    def split_of(self, index: int) -> str:
        return split_of(index, self.num_train)

    def stem(self, index: int) -> str:
        return f"{index:0{self.digits}d}"

    def video_dir(self, index: int) -> Path:
        return self.root / self.split_of(index)

    def video_file(self, index: int, modality: str) -> Path:
        suffix = VIDEO_FILES.get(modality) or EXTRA_FILES[modality]
        return self.video_dir(index) / f"{self.stem(index)}{suffix}"

    def meta_file(self, index: int) -> Path:
        return self.video_dir(index) / f"{self.stem(index)}.json"

    def failure_file(self, index: int) -> Path:
        return self.root / FAILURES_DIR / f"{self.stem(index)}.txt"

    def describe(self, indices: Iterable[int]) -> str:
        """Compress indices into runs of file stems: `0000-0019, 0025`; `-` when empty."""
        runs: list[list[int]] = []
        for index in indices:
            if runs and index == runs[-1][1] + 1:
                runs[-1][1] = index
            else:
                runs.append([index, index])
        if not runs:
            return "-"
        return ", ".join(self.stem(a) if a == b else f"{self.stem(a)}-{self.stem(b)}"
                         for a, b in runs)

    def check(self, index: int, hashes: bool = False) -> VideoCheck:
        """Status and metadata of video `index`: complete when its JSON reads as this format's
        `VideoMeta` for this index, lists every required modality, and every listed file has its
        recorded size (and sha256 when `hashes`)."""
        path = self.meta_file(index)
        if not path.exists():
            failed = self.failure_file(index).exists()
            return VideoCheck(VideoStatus.FAILED if failed else VideoStatus.MISSING)
        try:
            meta = VideoMeta.from_dict(json.loads(path.read_text()))
            if meta.format_version != FORMAT_VERSION or meta.index != index:
                return VideoCheck(VideoStatus.CORRUPT)
            if not set(VIDEO_FILES) <= {entry.modality for entry in meta.files.values()}:
                return VideoCheck(VideoStatus.CORRUPT)
            for name, entry in meta.files.items():
                file = self.video_dir(index) / name
                if file.stat().st_size != entry.bytes:
                    return VideoCheck(VideoStatus.CORRUPT)
                if hashes and sha256_file(file) != entry.sha256:
                    return VideoCheck(VideoStatus.CORRUPT)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return VideoCheck(VideoStatus.CORRUPT)
        return VideoCheck(VideoStatus.COMPLETE, meta)

    def pending(self, *, hashes: bool) -> list[int]:
        """Global indices that still need rendering (not complete; sha256 checked if `hashes`)."""
        return [i for i in range(self.num_videos) if not self.check(i, hashes).complete]
