"""Open a generated dataset for reading: `dataset.json`, its format version, its complete videos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lightpipe.datamodule.layout import (
    DATASET_FILE,
    FORMAT_VERSION,
    SPLITS,
    Layout,
    read_dataset_file,
)
from lightpipe.errors import LightpipeError

SUPPORTED_FORMAT_VERSIONS = (FORMAT_VERSION,)


class DatasetError(LightpipeError):
    """A dataset on disk cannot be read as asked."""


@dataclass(frozen=True)
class VideoRecord:
    """One complete video: its global index, split, directory and parsed `NNNN.json`."""

    index: int
    split: str
    directory: Path
    meta: dict

    @property
    def num_frames(self) -> int:
        return int(self.meta["video"]["num_frames"])

    @property
    def modalities(self) -> dict[str, Path]:
        """Modality -> file, from the `files` table of the video's JSON."""
        files = self.meta["files"]
        return {entry["modality"]: self.directory / name for name, entry in files.items()}


@dataclass(frozen=True)
class DatasetIndex:
    """A dataset's `dataset.json` and layout; lists complete videos without reading any video."""

    root: Path
    info: dict
    layout: Layout

    @classmethod
    def open(cls, root: str | Path) -> DatasetIndex:
        """Read and check `root/dataset.json`; raises DatasetError naming what is wrong."""
        root = Path(root)
        hint = ("HINT: point it at the `settings.output_dir` of a `lightpipe predict` run "
                "(default: output).")
        if not root.is_dir():
            raise DatasetError(f"dataset root {str(root)!r} is not a directory.\n{hint}")
        try:
            info = read_dataset_file(root)
        except ValueError as exc:
            raise DatasetError(f"{exc}\n{hint}") from None
        if info is None:
            raise DatasetError(f"{str(root)!r} is not a Lightpipe dataset: it has no "
                               f"{DATASET_FILE}.\n{hint}")
        version = info.get("format_version")
        if version not in SUPPORTED_FORMAT_VERSIONS:
            supported = ", ".join(str(v) for v in SUPPORTED_FORMAT_VERSIONS)
            raise DatasetError(
                f"{root / DATASET_FILE} has format_version {version!r}; this Lightpipe reads "
                f"format_version {supported}.\nHINT: read it with the Lightpipe version that "
                f"wrote it ({info.get('lightpipe_version', 'unknown')}), or regenerate it.")
        try:
            counts = info["counts"]
            layout = Layout(root, num_videos=int(counts["total"]), num_train=int(counts["train"]))
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{root / DATASET_FILE} has no valid `counts` "
                               "{total, train, val}; the file is damaged.") from None
        return cls(root, info, layout)

    @property
    def num_frames(self) -> int | None:
        """Frames per video from the generating config (None if not recorded)."""
        try:
            return int(self.info["config"]["settings"]["video"]["num_frames"])
        except (KeyError, TypeError, ValueError):
            return None

    def indices(self, split: str) -> range:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        num_train, total = self.layout.num_train, self.layout.num_videos
        return range(num_train) if split == "train" else range(num_train, total)

    def complete_videos(self, splits: tuple[str, ...], hashes: bool = False
                        ) -> tuple[dict[str, list[VideoRecord]], list[int]]:
        """Complete videos per split, and the global indices that are not complete.

        Complete = JSON present and every listed file with its recorded size (and sha256 when
        `hashes`), exactly as `lightpipe verify` and the generator judge it.
        """
        found: dict[str, list[VideoRecord]] = {}
        incomplete: list[int] = []
        for split in splits:
            found[split] = []
            for index in self.indices(split):
                meta = self.layout.read_meta(index)
                if meta is not None and hashes and self.layout.status(index) != "complete":
                    meta = None
                if meta is None:
                    incomplete.append(index)
                    continue
                found[split].append(VideoRecord(index, split, self.layout.video_dir(index), meta))
        return found, incomplete

    def describe_incomplete(self, incomplete: list[int]) -> str:
        """One line naming the skipped videos by runs of stems."""
        return (f"skipping {len(incomplete)} incomplete video(s) of {str(self.root)!r}: "
                f"{self.layout.describe(incomplete)} (not rendered yet, failed, or a file is "
                "missing or has the wrong size; `lightpipe verify` tells which)")
