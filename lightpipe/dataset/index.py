"""A dataset on disk as a whole: `dataset.json`, whether it is the dataset a config describes,
and its complete videos (for readers that have no config, only the directory)."""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass
from pathlib import Path

from lightpipe.dataset.identity import identity_differences
from lightpipe.dataset.layout import DATASET_FILE, FORMAT_VERSION, Layout
from lightpipe.dataset.meta import VideoMeta
from lightpipe.errors import LightpipeError

# 1: one keyframe per file; 2: no identity hash per video; else the same.
SUPPORTED_FORMAT_VERSIONS = (1, 2, FORMAT_VERSION)


class DatasetError(LightpipeError):
    """A dataset on disk cannot be read as asked."""


class Match(str, enum.Enum):
    """How a directory's `dataset.json` relates to the dataset a config describes."""

    ABSENT = "absent"  # no dataset.json: nothing generated there yet
    UNREADABLE = "unreadable"  # dataset.json is not valid JSON
    OTHER = "other"  # another identity: another config, seed, asset set or renderer
    SAME = "same"  # this dataset: a run resumes it


@dataclass(frozen=True)
class DatasetOnDisk:
    """The answer to "is the dataset in `root` the one this config makes?"."""

    root: Path
    match: Match
    info: dict | None = None  # the parsed dataset.json, when readable
    problem: str = ""  # why it is not SAME, in words
    differences: tuple[str, ...] = ()  # identity leaves that differ, when OTHER


def read_dataset_file(root: str | Path) -> dict | None:
    """`root/dataset.json`, or None if absent. Raises ValueError if it is not valid JSON."""
    path = Path(root) / DATASET_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None


def inspect_dataset(root: str | Path, identity: dict) -> DatasetOnDisk:
    """Compare `root/dataset.json` with `identity` (from `dataset_identity`). Reads one file."""
    root = Path(root)
    where = repr(str(root))
    try:
        info = read_dataset_file(root)
    except ValueError as exc:
        return DatasetOnDisk(root, Match.UNREADABLE, problem=str(exc))
    if info is None:
        return DatasetOnDisk(root, Match.ABSENT, problem=f"no dataset in {where}")
    found = info.get("config") if isinstance(info, dict) else None
    if found != identity:
        differences = identity_differences(found if isinstance(found, dict) else {}, identity)
        return DatasetOnDisk(root, Match.OTHER, info,
                             f"{where} holds a dataset made with another configuration",
                             tuple(differences))
    return DatasetOnDisk(root, Match.SAME, info)


def _video_identity_sha256(root: Path, info: dict) -> str:
    """dataset.json's `video_identity_sha256`: what each of its video JSONs must record."""
    recorded = info.get("video_identity_sha256")
    if not isinstance(recorded, str):
        raise DatasetError(f"{root / DATASET_FILE} has no `video_identity_sha256`, which "
                           f"format {info['format_version']} records; the file is damaged.\n"
                           "HINT: run `lightpipe predict` with the config that made the dataset "
                           "(it rewrites dataset.json and renders nothing that is complete).")
    return recorded


@dataclass(frozen=True)
class VideoRecord:
    """One complete video: its global index, split, directory and metadata."""

    index: int
    split: str
    directory: Path
    meta: VideoMeta

    @property
    def num_frames(self) -> int:
        return self.meta.num_frames

    @property
    def modalities(self) -> dict[str, Path]:
        """Modality -> file, from the `files` table of the video's JSON."""
        return self.meta.modality_files(self.directory)


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
            split = (info.get("config") or {}).get("settings", {}).get("dataset_split", {})
            layout = Layout(root, num_videos=int(counts["total"]), num_train=int(counts["train"]),
                            format_version=version,
                            split_rule=split.get("rule", "contiguous"),
                            train_ratio=float(split.get("train_ratio", 1.0)))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DatasetError(f"{root / DATASET_FILE} has no valid `counts` "
                               "{total, train, val}; the file is damaged.") from None
        if version >= 3:  # a video JSON recorded for another config or seed is never complete
            layout = dataclasses.replace(layout, identity_sha256=_video_identity_sha256(root, info))
        return cls(root, info, layout)

    @property
    def num_frames(self) -> int | None:
        """Frames per video from the generating config (None if not recorded)."""
        try:
            return int(self.info["config"]["settings"]["video"]["num_frames"])
        except (KeyError, TypeError, ValueError):
            return None

    def indices(self, split: str):
        """The global indices of `split`, ascending (a range for the contiguous split)."""
        return self.layout.split_indices(split)

    def complete_videos(self, splits: tuple[str, ...], hashes: bool = False
                        ) -> tuple[dict[str, list[VideoRecord]], list[int]]:
        """Complete videos per split, and the global indices that are not complete; judged by
        `Layout.check`, exactly as `lightpipe verify` and the generator judge them."""
        found: dict[str, list[VideoRecord]] = {}
        incomplete: list[int] = []
        for split in splits:
            found[split] = []
            for index in self.indices(split):
                check = self.layout.check(index, hashes)
                if not check.complete:
                    incomplete.append(index)
                    continue
                found[split].append(VideoRecord(index, split, self.layout.video_dir(index),
                                                check.meta))
        return found, incomplete

    def describe_incomplete(self, incomplete: list[int]) -> str:
        """One line naming the skipped videos by runs of stems."""
        return (f"skipping {len(incomplete)} incomplete video(s) of {str(self.root)!r}: "
                f"{self.layout.describe(incomplete)} (not rendered yet, failed, a file missing "
                "or of the wrong size, or recorded for another config or seed; "
                "`lightpipe verify` tells which)")
