"""The output directory of a generation run: may this run write there, and preparing it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from lightpipe.atomic_io import is_stale_temp, write_json
from lightpipe.config.settings import SPLITS, ProjectSettings, Settings
from lightpipe.dataset.identity import dataset_description, dataset_identity
from lightpipe.dataset.index import Match, inspect_dataset, read_dataset_file
from lightpipe.dataset.layout import DATASET_FILE, FAILURES_DIR
from lightpipe.dataset.writer_lock import LOCK_DIR
from lightpipe.errors import OutputDirError


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
    if found.match is Match.OTHER:
        raise OutputDirError(
            f"`settings.output_dir` {found.problem} ({'; '.join(found.differences[:6])}).\n"
            "Allowed: the same config and seed (the run resumes), or --settings.overwrite true, "
            "which deletes that dataset first.\n"
            "HINT: choose another --settings.output_dir to keep both.")


def prepare_output_dir(project: ProjectSettings, settings: Settings) -> None:
    """Rank 0, before any rendering: apply `overwrite`, create dirs, write `dataset.json`."""
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
