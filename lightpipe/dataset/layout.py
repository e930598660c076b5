"""The on-disk layout of a dataset: file names by global index, and the one completeness check."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lightpipe.atomic_io import sha256_file
from lightpipe.config.settings import SPLITS, Settings, split_indices, split_of
from lightpipe.dataset.meta import VideoCheck, VideoMeta, VideoStatus
from lightpipe.dataset.outputs import by_modality, required_modalities

# The on-disk format: these names, the per-video JSON schema (`meta.py`), the depth codes.
# 2: a keyframe every `settings.encoder.keyframe_interval` frames in every video file
#    (seekable), recorded as `video.keyframe_interval` in each JSON. Format 1 is still read.
# 3: each video JSON records `identity_sha256` (the dataset identity without `num_videos`, see
#    `identity.video_identity`); video files are byte-identical to format 2.
FORMAT_VERSION = 3
DATASET_FILE = "dataset.json"
FAILURES_DIR = "failures"
# File modality -> suffix after the zero-padded index, from the output registry.
SUFFIXES = {modality: file.suffix for modality, (_, file) in by_modality().items()}


@dataclass(frozen=True)
class Layout:
    """Paths of one dataset: `root/<split>/NNNN_*` by global index."""

    root: Path
    num_videos: int
    num_train: int
    format_version: int = FORMAT_VERSION  # what a complete video's JSON must say
    # What a complete video's JSON must record as `identity_sha256` (`identity.run_layout`);
    # None: not checked (a layout without a config, or of a format before 3).
    identity_sha256: str | None = None
    split_rule: str = "contiguous"  # `settings.dataset_split.rule` (see `config.split_of`)
    train_ratio: float = 1.0  # read by the `interleaved` rule only

    @classmethod
    def for_settings(cls, settings: Settings) -> Layout:
        split = settings.dataset_split
        return cls(Path(settings.output_dir), settings.num_videos, settings.num_train,
                   split_rule=split.rule, train_ratio=split.train_ratio)

    @property
    def digits(self) -> int:
        return max(4, len(str(self.num_videos - 1)))

    def split_of(self, index: int) -> str:
        return split_of(index, self.num_train, self.split_rule, self.train_ratio)

    def split_indices(self, split: str):
        """The global indices of `split`, ascending."""
        return split_indices(split, self.num_videos, self.num_train, self.split_rule,
                             self.train_ratio)

    def stem(self, index: int) -> str:
        return f"{index:0{self.digits}d}"

    def video_dir(self, index: int) -> Path:
        return self.root / self.split_of(index)

    def video_file(self, index: int, modality: str) -> Path:
        suffix = SUFFIXES[modality]
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
        `VideoMeta` for this index, of its split, recorded for this identity (when the layout
        has one), lists every required modality, every listed file has its recorded size (and
        sha256 when `hashes`), and no failure record stands against it.

        `lightpipe verify` checks this way, and records what it finds corrupt in `failures/`,
        which makes the next predict (`quick_check`) redo the video."""
        return self._check(index, hashes=hashes, full=True)

    def quick_check(self, index: int) -> VideoCheck:
        """What predict's resume checks, in ~0.1 ms: the JSON's format version, index, split,
        identity and `files` table (read without parsing the rest), the files' sizes and no
        failure record.
        `meta` is None; `check` parses and validates the whole JSON."""
        return self._check(index, hashes=False, full=False)

    def _check(self, index: int, hashes: bool, full: bool) -> VideoCheck:
        path = self.meta_file(index)
        failed = self.failure_file(index)
        if not path.exists():
            if failed.exists():
                return VideoCheck(VideoStatus.FAILED, problem=f"failure record {failed}")
            return VideoCheck(VideoStatus.MISSING, problem="no metadata")
        meta = None
        try:
            text = path.read_text()
            if full:
                meta = VideoMeta.from_json(text)
                version, found, split, identity = (meta.format_version, meta.index, meta.split,
                                                   meta.identity_sha256)
                files = {name: entry.to_dict() for name, entry in meta.files.items()}
            else:
                version, found, split, files, identity = _top_level(
                    text, ("format_version", "index", "split", "files"), ("identity_sha256",))
            if version != self.format_version or found != index:
                return _corrupt(f"{path.name} is format {version} of video {found}, expected "
                                f"format {self.format_version} of {index}")
            if self.identity_sha256 is not None and identity != self.identity_sha256:
                return _corrupt(f"{path.name} was recorded for another configuration or seed: "
                                f"identity {_short(identity)} there, "
                                f"{_short(self.identity_sha256)} here")
            if split != self.split_of(index):
                return _corrupt(f"{path.name} is a {split} video; video {index} is "
                                f"{self.split_of(index)} here")
            missing = set(required_modalities()) - {entry["modality"] for entry in files.values()}
            if missing:
                return _corrupt(f"{path.name} lists no {', '.join(sorted(missing))} file")
            for name, entry in files.items():
                file = self.video_dir(index) / name
                size = file.stat().st_size
                if size != entry["bytes"]:
                    return _corrupt(f"{name} has {size} bytes, recorded {entry['bytes']}")
                if hashes and (digest := sha256_file(file)) != entry["sha256"]:
                    return _corrupt(f"{name} has sha256 {digest}, recorded {entry['sha256']}")
        except FileNotFoundError as error:
            return _corrupt(f"{Path(error.filename or '?').name} is missing")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            return _corrupt(f"{path.name} cannot be read: {error}")
        if failed.exists():  # `verify` found it corrupt, or a crash came between commit and cleanup
            return _corrupt(f"failure record {failed}")
        return VideoCheck(VideoStatus.COMPLETE, meta)

    def stray_files(self) -> list[str]:
        """`folder/name` of every entry in the split folders and `failures/` that no planned
        video owns (another split's or an unplanned index's file, a temp file, anything else);
        `lightpipe verify` lists them and deletes nothing."""
        stray = []
        for split in SPLITS:
            stray += [f"{split}/{name}" for name in self._entries(split)
                      if not self._owns(split, _VIDEO_NAME.fullmatch(name))]
        stray += [f"{FAILURES_DIR}/{name}" for name in self._entries(FAILURES_DIR)
                  if not self._owns(None, _FAILURE_NAME.fullmatch(name))]
        return stray

    def _entries(self, folder: str) -> list[str]:
        try:
            return sorted(entry.name + ("/" if entry.is_dir() else "")
                          for entry in os.scandir(self.root / folder))
        except FileNotFoundError:
            return []

    def _owns(self, split: str | None, match: re.Match | None) -> bool:
        """Whether a name matched as `NNNN<suffix>` is a planned video's (in `split`, if any)."""
        if match is None or len(match[1]) != self.digits or int(match[1]) >= self.num_videos:
            return False
        return split is None or self.split_of(int(match[1])) == split

    def pending(self, indices: Iterable[int] | None = None, *, hashes: bool) -> list[int]:
        """The indices (default: all) that still need rendering: not complete (sha256 checked
        if `hashes`)."""
        indices = range(self.num_videos) if indices is None else indices
        check = (lambda i: self.check(i, hashes=True)) if hashes else self.quick_check
        return [i for i in indices if not check(i).complete]


_DECODER = json.JSONDecoder()
_SUFFIXES = (*SUFFIXES.values(), ".json")
_VIDEO_NAME = re.compile(r"(\d+)(?:" + "|".join(re.escape(s) for s in _SUFFIXES) + ")")
_FAILURE_NAME = re.compile(r"(\d+)\.txt")


def _top_level(text: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> list:
    """The values of top-level `keys` and then `optional` (None where absent) of a JSON object,
    decoding only those values when the text has `write_json`'s layout (indent 2: a raw newline,
    two spaces and a quote start a top-level key, as strings hold no raw newlines); otherwise
    the whole text is parsed."""
    values = []
    if text.startswith("{\n") and text.endswith("}\n"):  # else truncated, or another layout
        for key in (*keys, *optional):
            marker = f'\n  "{key}": '
            at = text.find(marker)
            if at < 0 and key not in optional:
                break
            values.append(None if at < 0 else _DECODER.raw_decode(text, at + len(marker))[0])
    if len(values) < len(keys) + len(optional):
        record = json.loads(text)
        return [record[key] for key in keys] + [record.get(key) for key in optional]
    return values


def _short(digest: str | None) -> str:
    """The first 12 hex digits of a sha256 (plenty to tell two apart), or `none`."""
    return digest[:12] if isinstance(digest, str) else "none"


def _corrupt(problem: str) -> VideoCheck:
    return VideoCheck(VideoStatus.CORRUPT, problem=problem)
