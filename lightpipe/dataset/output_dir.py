"""The output directory of a generation run: may this run write there, and preparing it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from lightpipe.atomic_io import is_stale_temp, write_json
from lightpipe.config.settings import SPLITS, ProjectSettings, Settings, train_count
from lightpipe.dataset.identity import (
    ASSET_DIFFERENCE,
    asset_changes,
    dataset_description,
    dataset_identity,
)
from lightpipe.dataset.index import DatasetOnDisk, Match, inspect_dataset, read_dataset_file
from lightpipe.dataset.layout import DATASET_FILE, FAILURES_DIR, FORMAT_VERSION, Layout
from lightpipe.dataset.writer_lock import LOCK_DIR
from lightpipe.errors import OutputDirError
from lightpipe.planning.planner import asset_pools


def check_output_dir(project: ProjectSettings, settings: Settings,
                     identity: dict | None = None) -> None:
    """Raise OutputDirError if the run may not write into `settings.output_dir`. Writes nothing.
    `identity`: the run's `dataset_identity`, when the caller has it already."""
    root = Path(settings.output_dir)
    if root.exists() and not root.is_dir():
        raise OutputDirError(
            f"`settings.output_dir` is {str(root)!r}, which is a file, not a directory.\n"
            "HINT: pass a directory path (it is created if missing).")
    existing = root
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"`settings.output_dir` is {str(root)!r}, which cannot be created or written: "
            f"{str(existing)!r} is not a writable directory.\n"
            "HINT: choose a directory you can write to.")
    if settings.overwrite:
        return
    found = inspect_dataset(root, identity or dataset_identity(project, settings))
    if found.match is Match.UNREADABLE:
        raise OutputDirError(f"{found.problem}\nHINT: pass --settings.overwrite true to replace it.")
    info = found.info if isinstance(found.info, dict) else {}
    version = info.get("format_version")
    if found.match is not Match.ABSENT and version != FORMAT_VERSION:
        # Its videos' JSONs are of that format: resuming would silently render every one again.
        raise OutputDirError(
            f"`settings.output_dir` {str(root)!r} holds a dataset of format {version!r}; this "
            f"Lightpipe writes format {FORMAT_VERSION}.\n"
            "Allowed: finish it with the Lightpipe version that wrote it "
            f"({info.get('lightpipe_version', 'unknown')}), or --settings.overwrite true, "
            "which deletes that dataset first.\n"
            "HINT: choose another --settings.output_dir to keep it (the training loader still "
            "reads it).")
    if found.match is Match.OTHER and grown_from(found, project, settings) is not None:
        return  # the same dataset with more videos: the existing ones are kept
    if found.match is Match.OTHER:
        differences = [d for d in found.differences if not d.startswith(ASSET_DIFFERENCE)]
        differences += asset_changes(found.info, settings)  # the files, by name
        if len(differences) > 6:
            differences[6:] = [f"and {len(differences) - 6} more"]
        raise OutputDirError(
            f"`settings.output_dir` {found.problem} ({'; '.join(differences)}).\n"
            "Allowed: the same config and seed (the run resumes), or --settings.overwrite true, "
            "which deletes that dataset first.\n"
            "HINT: choose another --settings.output_dir to keep both.")


def prepare_output_dir(project: ProjectSettings, settings: Settings) -> None:
    """Rank 0, before any rendering: apply `overwrite`, create dirs, write `dataset.json`.
    A write error (the disk filled since the up-front probe, ...) is one OutputDirError naming
    the file and the error, not a traceback."""
    try:
        _prepare(project, settings)
    except OSError as error:
        where = error.filename or settings.output_dir
        raise OutputDirError(
            f"cannot prepare `settings.output_dir` {str(settings.output_dir)!r}: {where}: "
            f"{os.strerror(error.errno) if error.errno else error}; no video was rendered.\n"
            "HINT: free space or fix the folder's permissions, then run the same command.") \
            from None


def _prepare(project: ProjectSettings, settings: Settings) -> None:
    root = Path(settings.output_dir)
    if settings.overwrite:
        for name in (*SPLITS, FAILURES_DIR):
            shutil.rmtree(root / name, ignore_errors=True)
        (root / DATASET_FILE).unlink(missing_ok=True)
    for name in SPLITS:
        (root / name).mkdir(parents=True, exist_ok=True)
    # Temp files left here by dead processes (never a live one's, nor the lock folder). Temps
    # of unfinished videos in the split dirs are removed when that video is rendered again.
    for stale in [*root.glob(".*"), *(root / FAILURES_DIR).glob(".*")]:
        if stale.name != LOCK_DIR and stale.is_file() and is_stale_temp(stale):
            stale.unlink(missing_ok=True)
    description = dataset_description(project, settings)
    try:
        current = read_dataset_file(root)
    except ValueError:
        current = None
    if current != json.loads(json.dumps(description)):
        write_json(root / DATASET_FILE, description)


def grown_from(found: DatasetOnDisk, project: ProjectSettings, settings: Settings) -> int | None:
    """The `num_videos` of the dataset `found` when this config grows it: the same identity but
    for a larger `num_videos`, under the `interleaved` split (where no video changes split), the
    same file-name digits and the same asset pools. None when the identities differ in anything
    else. Raises OutputDirError, saying why and what to do, when only `num_videos` differs but
    the dataset cannot grow so."""
    identity = dataset_identity(project, settings)
    there = found.info.get("config") if isinstance(found.info, dict) else None
    try:
        before = int(there["settings"]["num_videos"])
        same_otherwise = {**there, "settings": {**there["settings"],
                                                "num_videos": settings.num_videos}} == identity
    except (KeyError, TypeError, ValueError):
        return None
    if not same_otherwise:
        return None
    where, now = repr(str(found.root)), settings.num_videos
    if settings.dataset_split.rule != "interleaved":
        moved = Layout(found.root, before, train_count(before, settings.dataset_split.train_ratio))
        grown = Layout.for_settings(settings)
        changed = [i for i in range(min(before, now)) if moved.split_of(i) != grown.split_of(i)]
        raise OutputDirError(
            f"`settings.num_videos` is {now}; {where} holds this dataset with {before} videos. "
            "Under the contiguous split (`settings.dataset_split.rule: contiguous`, the default) "
            "the first round(num_videos * train_ratio) videos are train, so changing num_videos "
            f"moves videos {grown.describe(changed) if changed else '(none here)'} between train "
            "and val, and a video's split decides its assets: it would be another dataset.\n"
            "Allowed: num_videos "
            f"{before} (resume), or --settings.overwrite true (render all {now} again).\n"
            "HINT: to grow a dataset later without re-rendering, generate it with "
            "--settings.dataset_split.rule interleaved (val indices spread evenly; an index's "
            "split never depends on num_videos); see docs/growing.md.")
    if now < before:
        raise OutputDirError(
            f"`settings.num_videos` is {now}; {where} holds this dataset with {before} videos, "
            "and a dataset does not shrink here.\n"
            f"Allowed: num_videos >= {before} (grow it), or --settings.overwrite true.\n"
            f"HINT: train on part of it with the training DataModule's options instead.")
    digits = Layout.for_settings(settings).digits
    if digits != found.info.get("index_digits"):
        raise OutputDirError(
            f"`settings.num_videos` is {now}; {where} holds this dataset with {before} videos "
            f"named with {found.info.get('index_digits')} digits, and {now} videos need "
            f"{digits}: every file name would change.\n"
            f"Allowed: num_videos up to {10 ** found.info.get('index_digits', 4)}, or "
            "--settings.overwrite true.\nHINT: grow it to the limit, then start a second "
            "dataset with another seed in another output_dir.")
    pools = json.loads(json.dumps({split: pool.to_dict() for split, pool
                                   in asset_pools(project.seed, settings).items()}))
    if pools != found.info.get("asset_pools"):
        raise OutputDirError(
            f"`settings.num_videos` is {now}; {where} holds this dataset with {before} videos, "
            "but the asset pools of train and val differ at the new size (one split had no "
            "video before, so it shared every asset).\n"
            f"Allowed: num_videos {before}, or --settings.overwrite true.")
    return before
