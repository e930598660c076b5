"""The on-disk layout of a dataset: file names, completeness, and `dataset.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"
FAILURES_DIR = "failures"
SPLITS = ("train", "val")
# Modality -> file suffix after the zero-padded index.
VIDEO_FILES = {"color": "_color.mp4", "depth_vis": "_depth.mp4", "depth": "_depth.mkv"}


@dataclass(frozen=True)
class Layout:
    """Paths of one dataset: `root/<split>/NNNN_*` by global index."""

    root: Path
    num_videos: int
    num_train: int

    @property
    def digits(self) -> int:
        return max(4, len(str(self.num_videos - 1)))

    def split_of(self, index: int) -> str:
        return "train" if index < self.num_train else "val"

    def stem(self, index: int) -> str:
        return f"{index:0{self.digits}d}"

    def video_dir(self, index: int) -> Path:
        return self.root / self.split_of(index)

    def video_file(self, index: int, modality: str) -> Path:
        return self.video_dir(index) / f"{self.stem(index)}{VIDEO_FILES[modality]}"

    def meta_file(self, index: int) -> Path:
        return self.video_dir(index) / f"{self.stem(index)}.json"

    def failure_file(self, index: int) -> Path:
        return self.root / FAILURES_DIR / f"{self.stem(index)}.txt"

    @property
    def dataset_file(self) -> Path:
        return self.root / DATASET_FILE

    def read_meta(self, index: int) -> dict | None:
        """The video's metadata if it is complete (JSON present, every listed file of that size)."""
        try:
            meta = json.loads(self.meta_file(index).read_text())
            files = meta["files"]
            for name, entry in files.items():
                if (self.video_dir(index) / name).stat().st_size != entry["bytes"]:
                    return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return meta

    def is_complete(self, index: int) -> bool:
        return self.read_meta(index) is not None

    def pending(self) -> list[int]:
        """Global indices that still need rendering (no complete `NNNN.json`)."""
        return [i for i in range(self.num_videos) if not self.is_complete(i)]


def read_dataset_file(root: Path) -> dict | None:
    """`root/dataset.json`, or None if absent. Raises ValueError if unreadable."""
    path = Path(root) / DATASET_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
