"""The on-disk layout of a dataset: file names, completeness, and `dataset.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lightpipe.atomic_io import file_digest

FORMAT_VERSION = 1
# Part of every dataset's identity: bump it whenever the renderer writes different bytes for the
# same spec, so a dataset is never resumed with a renderer that would draw its videos otherwise.
# 2: rsqrt instead of MKL's sqrt, light parameters in float32, compiled-kernel layout.
RENDERER_VERSION = 2
DATASET_FILE = "dataset.json"
FAILURES_DIR = "failures"
SPLITS = ("train", "val")
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
        suffix = VIDEO_FILES.get(modality) or EXTRA_FILES[modality]
        return self.video_dir(index) / f"{self.stem(index)}{suffix}"

    def meta_file(self, index: int) -> Path:
        return self.video_dir(index) / f"{self.stem(index)}.json"

    def describe(self, indices) -> str:
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

    def failure_file(self, index: int) -> Path:
        return self.root / FAILURES_DIR / f"{self.stem(index)}.txt"

    def read_meta(self, index: int) -> dict | None:
        """The video's metadata if its JSON is readable and every listed file has its size."""
        return self._checked_meta(index, hashes=False)[1]

    def status(self, index: int, hashes: bool = True) -> str:
        """`complete`, `missing` (no JSON), `failed` (no JSON, a failure record) or `corrupt`."""
        return self._checked_meta(index, hashes)[0]

    def pending(self, hashes: bool = True) -> list[int]:
        """Global indices that still need rendering (not complete, sha256 checked by default)."""
        return [i for i in range(self.num_videos) if self.status(i, hashes) != "complete"]

    def _checked_meta(self, index: int, hashes: bool) -> tuple[str, dict | None]:
        path = self.meta_file(index)
        if not path.exists():
            return ("failed" if self.failure_file(index).exists() else "missing"), None
        try:
            meta = json.loads(path.read_text())
            files = meta["files"]
            if {entry["modality"] for entry in files.values()} < set(VIDEO_FILES):
                return "corrupt", None
            for name, entry in files.items():
                file = self.video_dir(index) / name
                if file.stat().st_size != entry["bytes"]:
                    return "corrupt", None
                if hashes and file_digest(file)["sha256"] != entry["sha256"]:
                    return "corrupt", None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return "corrupt", None
        return "complete", meta


def read_dataset_file(root: Path) -> dict | None:
    """`root/dataset.json`, or None if absent. Raises ValueError if unreadable."""
    path = Path(root) / DATASET_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None
