"""The output directory of a generation run: may this run write there, and preparing it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from lightpipe.atomic_io import is_temp, write_json
from lightpipe.config.settings import SPLITS, ProjectSettings, Settings
from lightpipe.dataset.identity import dataset_description, dataset_identity
from lightpipe.dataset.index import Match, inspect_dataset, read_dataset_file
from lightpipe.dataset.layout import DATASET_FILE, FAILURES_DIR, FORMAT_VERSION
from lightpipe.errors import OutputDirError


def check_output_dir(project: ProjectSettings, settings: Settings) -> None:
    """Raise OutputDirError if the run may not write into `settings.output_dir`. Writes nothing."""
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
    found = inspect_dataset(root, dataset_identity(project, settings))
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
    # No task writes yet: temp files left here by a killed run are stale. (Temps of unfinished
    # videos in the split dirs are removed when that video is rendered again.)
    for stale in [*root.glob(".*"), *(root / FAILURES_DIR).glob(".*")]:
        if is_temp(stale):
            stale.unlink(missing_ok=True)
    description = dataset_description(project, settings)
    try:
        current = read_dataset_file(root)
    except ValueError:
        current = None
    if current != json.loads(json.dumps(description)):
        write_json(root / DATASET_FILE, description)
